// Runs embedder code (hooks, validators) so that an exception becomes an error instead of
// terminating the actor that owns the data.
#pragma once

#include <exception>
#include <string>

#include "caf/error.hpp"

#include "messages/errc.hpp"

namespace debros {

template <class F>
caf::error guarded(const char* what, F&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return make_error(errc::internal, std::string{what} + " threw: " + e.what());
  } catch (...) {
    return make_error(errc::internal, std::string{what} + " threw a non-standard exception");
  }
}

} // namespace debros
