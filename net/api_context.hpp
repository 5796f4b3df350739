// The state of one API request while its handlers work (internal to net/api*.cpp).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf/expected.hpp"

#include "net/api.hpp"

namespace debros::net {

struct api::context {
  api_request req;
  respond_fn respond;
  /// Decoded path segments, starting with "v1".
  std::vector<std::string> segs;
  /// Decoded query parameters, in order.
  std::vector<std::pair<std::string, std::string>> params;
  principal who;
  route answered_by = route::other;

  void reply(api_response resp) {
    resp.answered_by = answered_by;
    respond(std::move(resp));
  }

  std::optional<std::string> param(std::string_view name) const;

  /// The body parsed as JSON within the limits. Errors: invalid_argument, too_large.
  caf::expected<value> body_json(const api_limits& limits) const;

  bool is(std::string_view method) const { return req.method == method; }
};

/// 404 for a path or method the API does not have.
api_response not_found_route(const api::context& ctx);

/// A reply callback that turns an operation's result into a response.
template <class T, class F>
auto on_result(std::shared_ptr<api::context> ctx, F make_response) {
  return [ctx, make_response](caf::expected<T> r) {
    if (!r)
      return ctx->reply(api::error(r.error()));
    ctx->reply(make_response(std::move(*r)));
  };
}

} // namespace debros::net
