// Users (API.md "Users") and documents with their relations (`with=`).
#include "actors/runtime.hpp"
#include "net/api_context.hpp"

namespace debros::net {

void api::users(std::shared_ptr<context> ctx) {
  ctx->reply(error(errc::unimplemented, "users are not available in this version of Debros"));
}

void api::get_with_relations(std::shared_ptr<context> ctx, const std::string&, const std::string&,
                             const std::string&) {
  ctx->reply(error(errc::unimplemented,
                   "loading relations (with=) is not available in this version of Debros"));
}

} // namespace debros::net
