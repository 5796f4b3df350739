// Models, documents and queries (API.md "Models", "Documents", "Queries").
#include "actors/engine.hpp"
#include "actors/runtime.hpp"
#include "messages/json.hpp"
#include "messages/query.hpp"
#include "net/api_context.hpp"

namespace debros::net {

namespace {

using ctx_ptr = std::shared_ptr<api::context>;

caf::error forbidden(std::string why) {
  return make_error(errc::forbidden, std::move(why));
}

// Who may write documents of `def` (API.md "Users"): the admin always; a user token its own
// documents of user-scoped models, and of global models whose access is "users". `owner` is the
// userId of the document (new or stored), empty when it has none.
caf::error may_write(const principal& who, const model_def& def, const std::string& owner) {
  if (who.is_admin())
    return caf::none;
  if (def.scope == model_scope::global && def.access != write_access::users)
    return forbidden("only the admin writes " + def.name + " (its access is admin)");
  if (owner != who.user)
    return forbidden("a user token writes only documents of its own user (" + who.user + ")");
  return caf::none;
}

// For a user token, a new document carries the user's id: filled in when missing, checked
// when given.
caf::error claim(const principal& who, const model_def& def, value& doc) {
  if (!doc.is_object())
    return make_error(errc::invalid_argument, "a document must be a JSON object");
  if (who.is_user() && doc.find("userId") == nullptr)
    doc.as_object().set("userId", who.user);
  auto* owner = doc.find("userId");
  return may_write(who, def, owner != nullptr && owner->is_string() ? owner->as_string() : "");
}

std::string owner_of(const value& doc) {
  auto* u = doc.find("userId");
  return u != nullptr && u->is_string() ? u->as_string() : "";
}

} // namespace

// -- models ------------------------------------------------------------------------------------

void api::models(ctx_ptr ctx) {
  auto& s = ctx->segs;
  if (s.size() == 2) {
    ctx->answered_by = route::models_list;
    if (!ctx->is("GET"))
      return ctx->reply(not_found_route(*ctx));
    array defs;
    for (auto& def : rt_.models())
      defs.push_back(to_value(def));
    return ctx->reply(json(200, value{object{{"models", std::move(defs)}}}));
  }
  auto& name = s[2];
  if (ctx->is("PUT")) {
    ctx->answered_by = route::models_put;
    if (!ctx->who.is_admin())
      return ctx->reply(error(forbidden("only the admin defines models")));
    auto body = ctx->body_json(limits_);
    if (!body)
      return ctx->reply(error(body.error()));
    if (!valid_model_name(name))
      return ctx->reply(error(errc::invalid_argument,
                              "invalid model name '" + name +
                                  "' (1 to 64 letters, digits, '_' or '-', a letter first)"));
    auto def = parse_model(name, *body);
    if (!def)
      return ctx->reply(error(def.error()));
    bool created = false;
    auto stored = rt_.define(std::move(*def), &created);
    if (!stored)
      return ctx->reply(error(stored.error()));
    return ctx->reply(json(created ? 201 : 200, to_value(*stored)));
  }
  ctx->answered_by = route::models_get;
  if (!ctx->is("GET"))
    return ctx->reply(not_found_route(*ctx));
  auto def = rt_.find_model(name);
  if (!def)
    return ctx->reply(error(def.error()));
  query q;
  q.model = name;
  q.where.type = query_expr::kind::all;
  q.aggregate = aggregate_fn::count;
  auto described = to_value(*def);
  rt_.engine().run_query(std::move(q), on_result<query_result>(ctx, [described](query_result r) {
                           auto out = described;
                           out.as_object().set("count", r.aggregate);
                           return json(200, out);
                         }));
}

// -- documents ---------------------------------------------------------------------------------

void api::documents(ctx_ptr ctx) {
  auto& s = ctx->segs;
  auto& model = s[2];
  auto entry = rt_.engine().find(model);
  if (!entry)
    return ctx->reply(error(entry.error()));
  auto& def = (*entry)->def();
  auto& eng = rt_.engine();
  auto doc_reply = [](int status) { return [status](value d) { return json(status, d); }; };
  if (s.size() == 4 && s[3] == "docs") {
    ctx->answered_by = route::docs_create;
    if (!ctx->is("POST"))
      return ctx->reply(not_found_route(*ctx));
    auto body = ctx->body_json(limits_);
    if (!body)
      return ctx->reply(error(body.error()));
    if (auto err = claim(ctx->who, def, *body))
      return ctx->reply(error(err));
    return eng.create(model, std::move(*body), on_result<value>(ctx, doc_reply(201)));
  }
  if (s.size() == 4) { // docs:batch
    ctx->answered_by = route::docs_batch;
    if (!ctx->is("POST"))
      return ctx->reply(not_found_route(*ctx));
    auto body = ctx->body_json(limits_);
    if (!body)
      return ctx->reply(error(body.error()));
    auto* docs = body->find("docs");
    if (docs == nullptr || !docs->is_array())
      return ctx->reply(error(errc::invalid_argument, "the body must be {\"docs\": [...]}"));
    for (auto& d : docs->as_array())
      if (auto err = claim(ctx->who, def, d))
        return ctx->reply(error(err));
    return eng.create_batch(
        model, std::move(docs->as_array()),
        on_result<std::vector<std::string>>(ctx, [](std::vector<std::string> ids) {
          array out(ids.begin(), ids.end());
          return json(201, value{object{{"ids", std::move(out)}}});
        }));
  }
  auto id = s[4];
  bool increment = false;
  if (ctx->is("POST") && id.size() > 10 && id.compare(id.size() - 10, 10, ":increment") == 0) {
    id.resize(id.size() - 10);
    increment = true;
  }
  if (ctx->is("GET")) {
    ctx->answered_by = route::docs_get;
    if (auto with = ctx->param("with"); with && !with->empty())
      return get_with_relations(ctx, model, id, *with);
    auto doc = eng.get(model, id, ctx->param("user").value_or(""));
    return ctx->reply(doc ? json(200, *doc) : error(doc.error()));
  }
  ctx->answered_by = increment           ? route::docs_increment
                     : ctx->is("PATCH")  ? route::docs_patch
                     : ctx->is("PUT")    ? route::docs_put
                     : ctx->is("DELETE") ? route::docs_delete
                                         : route::other;
  if (ctx->answered_by == route::other)
    return ctx->reply(not_found_route(*ctx));
  // Writes to an existing document: check its owner first (owners never change).
  if (!ctx->who.is_admin()) {
    auto cur = eng.get(model, id);
    if (!cur && !(increment && def.type == store_type::counter))
      return ctx->reply(error(cur.error()));
    if (auto err = may_write(ctx->who, def, cur ? owner_of(*cur) : ctx->who.user))
      return ctx->reply(error(err));
  }
  if (ctx->is("DELETE"))
    return eng.remove(model, id, on_result<bool>(ctx, [](bool) {
                        api_response r;
                        r.status = 204;
                        r.content_type.clear();
                        return r;
                      }));
  auto body = ctx->body_json(limits_);
  if (!body)
    return ctx->reply(error(body.error()));
  if (increment) {
    auto* field = body->find("field");
    if (field == nullptr || !field->is_string())
      return ctx->reply(
          error(errc::invalid_argument, "the body must be {\"field\": F, \"by\": N}"));
    auto* by = body->find("by");
    value amount = by != nullptr ? *by : value{1};
    return eng.increment(model, id, field->as_string(), std::move(amount),
                         on_result<value>(ctx, [](value v) {
                           return json(200, value{object{{"value", std::move(v)}}});
                         }));
  }
  eng.update(model, id, std::move(*body), ctx->is("PUT"), on_result<value>(ctx, doc_reply(200)));
}

// -- queries -----------------------------------------------------------------------------------

void api::run_query(ctx_ptr ctx) {
  ctx->answered_by = route::query;
  if (!ctx->is("POST"))
    return ctx->reply(not_found_route(*ctx));
  auto body = ctx->body_json(limits_);
  if (!body)
    return ctx->reply(error(body.error()));
  auto q = parse_query(ctx->segs[2], *body);
  if (!q)
    return ctx->reply(error(q.error()));
  bool with_total = q->with_total;
  rt_.engine().run_query(
      std::move(*q), on_result<query_result>(ctx, [with_total](query_result r) {
        object out;
        if (r.has_aggregate) {
          out.set("value", std::move(r.aggregate));
        } else {
          out.set("docs", value{std::move(r.docs)});
          if (with_total)
            out.set("total", static_cast<int64_t>(r.total));
          out.set("nextCursor", r.next_cursor.empty() ? value{} : value{std::move(r.next_cursor)});
        }
        return json(200, value{std::move(out)});
      }));
}

} // namespace debros::net
