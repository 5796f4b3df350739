#include <catch2/catch.hpp>

#include <string>

#include "messages/assert.hpp"
#include "tests/support/in_child.hpp"

using debros::test::in_child;

namespace {

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
    CHECK(out.aborted());
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
    CHECK(out.aborted());
#else
    SUCCEED("this build has no NDEBUG");
#endif
  }
}
