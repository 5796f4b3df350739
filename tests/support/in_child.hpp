// Runs a function in a forked child and reports how it ended: for tests that an assertion
// (messages/assert.hpp) aborts the process with its message.
#pragma once

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace debros::test {

struct child_outcome {
  int status = 0;
  /// What the child wrote to stderr.
  std::string err;

  bool aborted() const { return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT; }
};

/// Runs `fn` in a forked child with its stderr on a pipe. The child never returns into the test
/// runner: it exits 0 if `fn` returns. Call it before the test starts threads (fork copies only
/// the calling thread).
template <class F>
child_outcome in_child(F fn) {
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
  child_outcome out;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    out.err.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  REQUIRE(waitpid(pid, &out.status, 0) == pid);
  return out;
}

} // namespace debros::test
