// DEBROS_ASSERT: a check of an invariant the code relies on, active in every build (release,
// debug, sanitizers, fuzzing). STYLE.md "Assertions": where invariants live, before a write to
// disk and after a read, on states a protocol must never reach. An assertion is for a programmer
// error, never for user input or for bytes read from disk or the network: those are errors
// (errc::invalid_argument, errc::corruption) returned to the caller.
//
// A failed assertion prints "debros: assertion failed: FILE:LINE: CONDITION" to stderr and aborts
// the process (SIGABRT, so a core dump or a sanitizer report shows where). The condition is
// evaluated exactly once; keep it cheap and free of side effects.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace debros::detail {

[[noreturn]] inline void assertion_failed(const char* file, int line,
                                          const char* condition) noexcept {
  std::fprintf(stderr, "debros: assertion failed: %s:%d: %s\n", file, line, condition);
  std::fflush(stderr);
  std::abort();
}

} // namespace debros::detail

#define DEBROS_ASSERT(condition)                                                                   \
  (__builtin_expect(static_cast<bool>(condition), 1)                                               \
       ? static_cast<void>(0)                                                                      \
       : ::debros::detail::assertion_failed(__FILE__, __LINE__, #condition))
