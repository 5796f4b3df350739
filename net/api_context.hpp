// The state of one API request while its handlers work (internal to net/api*.cpp).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf/expected.hpp"

#include "messages/model.hpp"
#include "messages/query.hpp"
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

// -- read policies (model `read`; docs/node.md "Security") ----------------------------------

/// Whether `who` may see `doc` of `def`: the admin always; `public` anyone; `users` a user
/// token; `owner` a user token, of its own documents (userId) only.
bool may_read(const principal& who, const model_def& def, const value& doc);

/// What a reader is told of a document it may not see: the not_found of a missing one, so a
/// policy does not reveal which ids exist.
caf::error hidden(const std::string& model, const std::string& id);

/// Whether `who` reads every document of `def` (the admin, or a model not read by owner only):
/// then restrict_reads changes nothing and a count is the model's whole count.
bool reads_everything(const principal& who, const model_def& def);

/// Narrows a query to what `who` may read: for a user token on an `owner` model, the documents
/// whose userId is its user (and, for a user-scoped model, that user's database only). The
/// result, its total, its aggregate and its cursors are then of those documents only.
void restrict_reads(const principal& who, const model_def& def, query& q);

/// Removes from the relations loaded into `doc` (paths as in `with`, dotted for nested ones)
/// the related documents `who` may not read: a single relation becomes null, an array loses
/// them (after the relation's limit was applied).
void hide_relations(const runtime& rt, const principal& who, const model_def& def, value& doc,
                    const std::vector<std::string>& paths);

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
