#include <catch2/catch.hpp>

#include <csignal>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "messages/assert.hpp"

namespace {

struct outcome {
  int status = 0;
  std::string err;
};

// Runs `fn` in a forked child with its stderr on a pipe; returns how the child ended and what
// it wrote. The child never returns into the test runner: it exits 0 if `fn` returns.
template <class F>
outcome in_child(F fn) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::fflush(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    // Catch2 handles SIGABRT to report a crashed test: the child dies of it plainly instead.
    std::signal(SIGABRT, SIG_DFL);
    fn();
    _exit(0);
  }
  close(fds[1]);
  outcome out;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    out.err.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  REQUIRE(waitpid(pid, &out.status, 0) == pid);
  return out;
}

int evaluations = 0;

bool counted(bool x) {
  ++evaluations;
  return x;
}

} // namespace

TEST_CASE("a failed assertion names file, line and condition and aborts", "[messages][assert]") {
  SECTION("a false condition aborts with its text and place") {
    auto line = __LINE__ + 1;
    auto out = in_child([] { DEBROS_ASSERT(1 + 1 == 3); });
    REQUIRE(WIFSIGNALED(out.status));
    CHECK(WTERMSIG(out.status) == SIGABRT);
    CHECK(out.err == "debros: assertion failed: " + std::string{__FILE__} + ":" +
                         std::to_string(line) + ": 1 + 1 == 3\n");
  }
  SECTION("a true condition passes, evaluated once") {
    auto out = in_child([] {
      DEBROS_ASSERT(counted(true));
      if (evaluations != 1)
        _exit(2);
    });
    REQUIRE(WIFEXITED(out.status));
    CHECK(WEXITSTATUS(out.status) == 0);
    CHECK(out.err.empty());
  }
  SECTION("assertions stay on in an NDEBUG build") {
#ifdef NDEBUG
    auto out = in_child([] { DEBROS_ASSERT(counted(false)); });
    CHECK(WIFSIGNALED(out.status));
#else
    SUCCEED("this build has no NDEBUG");
#endif
  }
}
