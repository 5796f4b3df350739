// Users (API.md "Users") and documents with their relations (`with=`).
#include "actors/engine.hpp"
#include "actors/runtime.hpp"
#include "messages/names.hpp"
#include "net/api_context.hpp"

namespace debros::net {

void api::users(std::shared_ptr<context> ctx) {
  auto& s = ctx->segs;
  auto& eng = rt_.engine();
  if (s.size() == 2) {
    if (!ctx->is("POST"))
      return ctx->reply(not_found_route(*ctx));
    auto body = ctx->body_json(limits_);
    if (!body)
      return ctx->reply(error(body.error()));
    auto* id = body->find("id");
    if (id == nullptr || !id->is_string())
      return ctx->reply(error(errc::invalid_argument, "the body must be {\"id\": USER}"));
    auto user = id->as_string();
    if (auto err = check_name(name_kind::user_id, user))
      return ctx->reply(error(err));
    // A user token may register itself; anyone else is the admin's to register.
    if (!ctx->who.is_admin() && ctx->who.user != user)
      return ctx->reply(error(make_error(errc::forbidden, "a user token registers only itself")));
    return eng.ensure_user(user, [ctx, &eng, user](caf::expected<bool> created) {
      if (!created)
        return ctx->reply(error(created.error()));
      bool is_new = *created;
      eng.get_user_async(user, on_result<value>(ctx, [is_new](value record) {
                           return json(is_new ? 201 : 200, std::move(record));
                         }));
    });
  }
  if (s.size() != 3 || !ctx->is("GET"))
    return ctx->reply(not_found_route(*ctx));
  if (auto err = check_name(name_kind::user_id, s[2]))
    return ctx->reply(error(err));
  // The user's databases are counted by an actor, in slices: never on a gateway thread.
  eng.get_user_async(
      s[2], on_result<value>(ctx, [](value record) { return json(200, std::move(record)); }));
}

void api::get_with_relations(std::shared_ptr<context> ctx, const std::string& model,
                             const std::string& id, const std::string& with) {
  std::vector<std::string> paths;
  size_t start = 0;
  while (start <= with.size()) {
    auto comma = with.find(',', start);
    auto path = with.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!path.empty())
      paths.push_back(std::move(path));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  auto def = rt_.find_model(model);
  if (!def)
    return ctx->reply(error(def.error()));
  auto kept = paths;
  rt_.engine().get_with(
      model, id, ctx->param("user").value_or(""), std::move(paths),
      on_result<value>(ctx, [this, ctx, def = std::move(*def), kept, model, id](value doc) {
        if (!may_read(ctx->who, def, doc))
          return error(hidden(model, id));
        hide_relations(rt_, ctx->who, def, doc, kept);
        return json(200, doc);
      }));
}

} // namespace debros::net
