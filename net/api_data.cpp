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

std::string owner_of(const value& doc) {
  auto* u = doc.is_object() ? doc.find("userId") : nullptr;
  return u != nullptr && u->is_string() ? u->as_string() : "";
}

// Whether `who` may write documents of `def` at all (docs/node.md "Authentication and
// authorization"): the admin always; a user token in user-scoped models and in global models
// whose access is "users". Which documents it may change is checked by the actor that owns
// them, on the state the write changes (the write carries `as_user`).
caf::error may_write_model(const principal& who, const model_def& def) {
  if (who.is_admin())
    return caf::none;
  if (!who.is_user())
    return make_error(errc::unauthenticated,
                      "missing bearer token (send Authorization: Bearer TOKEN)");
  if (def.scope == model_scope::global && def.access != write_access::users)
    return forbidden("only the admin writes " + def.name + " (its access is admin)");
  return caf::none;
}

// The user a write is made for: empty for the admin (trusted).
std::string as_user(const principal& who) {
  return who.is_admin() ? std::string{} : who.user;
}

// For a user token, a new document carries the user's id: filled in when missing, checked
// when given.
caf::error claim(const principal& who, const model_def& def, value& doc) {
  if (!doc.is_object())
    return make_error(errc::invalid_argument, "a document must be a JSON object");
  if (auto err = may_write_model(who, def))
    return err;
  if (who.is_admin())
    return caf::none;
  if (doc.find("userId") == nullptr)
    doc.as_object().set("userId", who.user);
  if (owner_of(doc) != who.user)
    return forbidden("a user token writes only documents of its own user (" + who.user + ")");
  return caf::none;
}

// The related documents of one relation of `doc` and the rest of the path below it.
void hide_path(const runtime& rt, const principal& who, const model_def& def, value& doc,
               std::string_view path) {
  if (!doc.is_object())
    return;
  auto dot = path.find('.');
  auto name = path.substr(0, dot);
  auto rest = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  auto* rel = def.find_relation(name);
  auto* loaded = doc.as_object().find(std::string{name});
  if (rel == nullptr || loaded == nullptr)
    return;
  auto related = rt.find_model(rel->model);
  if (!related)
    return;
  auto visit = [&](value& d) {
    if (!rest.empty())
      hide_path(rt, who, *related, d, rest);
  };
  if (loaded->is_object()) {
    if (!may_read(who, *related, *loaded))
      *loaded = value{};
    else
      visit(*loaded);
  } else if (loaded->is_array()) {
    auto& arr = loaded->as_array();
    array kept;
    for (auto& d : arr)
      if (may_read(who, *related, d)) {
        visit(d);
        kept.push_back(std::move(d));
      }
    arr = std::move(kept);
  }
}

} // namespace

bool may_read(const principal& who, const model_def& def, const value& doc) {
  if (who.is_admin())
    return true;
  switch (def.read) {
  case read_policy::anyone:
    return true;
  case read_policy::users:
    return who.is_user();
  case read_policy::owner:
    return who.is_user() && owner_of(doc) == who.user;
  }
  return false;
}

caf::error hidden(const std::string& model, const std::string& id) {
  return make_error(errc::not_found, model + "/" + id + " not found");
}

bool reads_everything(const principal& who, const model_def& def) {
  return who.is_admin() || def.read != read_policy::owner;
}

void restrict_reads(const principal& who, const model_def& def, query& q) {
  if (reads_everything(who, def))
    return;
  // Anonymous readers reach only public models (api::authenticate); a user token reads its own.
  auto cond = [](query_op op, value operand) {
    query_expr e;
    e.type = query_expr::kind::cond;
    e.path = "userId";
    e.op = op;
    e.operand = std::move(operand);
    return e;
  };
  if (q.where.type != query_expr::kind::all) {
    query_expr root;
    root.type = query_expr::kind::all;
    root.children.push_back(std::move(q.where));
    q.where = std::move(root);
  }
  q.where.children.push_back(cond(query_op::eq, value{who.user}));
  if (def.scope == model_scope::user) {
    // A userIn without the user matches nothing (its databases hold no document of the user).
    if (!q.user_in.empty()) {
      array asked(q.user_in.begin(), q.user_in.end());
      q.where.children.push_back(cond(query_op::in, value{std::move(asked)}));
    }
    q.user_in = {who.user};
  }
}

void hide_relations(const runtime& rt, const principal& who, const model_def& def, value& doc,
                    const std::vector<std::string>& paths) {
  if (who.is_admin())
    return;
  for (auto& p : paths)
    hide_path(rt, who, def, doc, p);
}

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
    // The definition's durable write is an fsync: never on a gateway thread.
    return rt_.define_async(std::move(*def), on_result<define_outcome>(ctx, [](define_outcome o) {
                              return json(o.created ? 201 : 200, to_value(o.def));
                            }));
  }
  ctx->answered_by = route::models_get;
  if (!ctx->is("GET"))
    return ctx->reply(not_found_route(*ctx));
  auto def = rt_.find_model(name);
  if (!def)
    return ctx->reply(error(def.error()));
  if (reads_everything(ctx->who, *def)) {
    // The count the writes keep: one short read, whatever the number of documents.
    auto entry = rt_.engine().find(name);
    if (!entry)
      return ctx->reply(error(entry.error()));
    auto n = rt_.engine().document_count(**entry);
    if (!n)
      return ctx->reply(error(n.error()));
    auto out = to_value(*def);
    out.as_object().set("count", static_cast<int64_t>(*n));
    return ctx->reply(json(200, std::move(out)));
  }
  // A user token on an owner-read model sees the count of its own documents: a query.
  query q;
  q.model = name;
  q.where.type = query_expr::kind::all;
  q.aggregate = aggregate_fn::count;
  restrict_reads(ctx->who, *def, q); // the count a user token sees is of what it may read
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
    return eng.create(model, std::move(*body), on_result<value>(ctx, doc_reply(201)),
                      as_user(ctx->who));
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
    if (doc && !may_read(ctx->who, def, *doc))
      return ctx->reply(error(hidden(model, id)));
    return ctx->reply(doc ? json(200, *doc) : error(doc.error()));
  }
  ctx->answered_by = increment           ? route::docs_increment
                     : ctx->is("PATCH")  ? route::docs_patch
                     : ctx->is("PUT")    ? route::docs_put
                     : ctx->is("DELETE") ? route::docs_delete
                                         : route::other;
  if (ctx->answered_by == route::other)
    return ctx->reply(not_found_route(*ctx));
  if (auto err = may_write_model(ctx->who, def))
    return ctx->reply(error(err));
  if (ctx->is("DELETE"))
    return eng.remove(model, id,
                      on_result<bool>(ctx,
                                      [](bool) {
                                        api_response r;
                                        r.status = 204;
                                        r.content_type.clear();
                                        return r;
                                      }),
                      as_user(ctx->who));
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
    return eng.increment(
        model, id, field->as_string(), std::move(amount),
        on_result<value>(ctx,
                         [](value v) {
                           return json(200, value{object{{"value", std::move(v)}}});
                         }),
        as_user(ctx->who));
  }
  eng.update(model, id, std::move(*body), ctx->is("PUT"), on_result<value>(ctx, doc_reply(200)),
             as_user(ctx->who));
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
  auto entry = rt_.engine().find(q->model);
  if (!entry)
    return ctx->reply(error(entry.error()));
  restrict_reads(ctx->who, (*entry)->def(), *q);
  bool with_total = q->with_total;
  bool explain = q->explain;
  auto with = q->with;
  auto model_name = q->model;
  rt_.engine().run_query(
      std::move(*q), on_result<query_result>(ctx, [this, ctx, with_total, explain, with,
                                                   model_name](query_result r) {
        object out;
        if (r.has_aggregate) {
          out.set("value", std::move(r.aggregate));
        } else {
          if (!with.empty())
            if (auto def = rt_.find_model(model_name))
              for (auto& d : r.docs)
                hide_relations(rt_, ctx->who, *def, d, with);
          out.set("docs", value{std::move(r.docs)});
          if (with_total)
            out.set("total", static_cast<int64_t>(r.total));
          out.set("nextCursor", r.next_cursor.empty() ? value{} : value{std::move(r.next_cursor)});
        }
        if (explain) {
          array plan;
          for (auto& p : r.plan)
            plan.emplace_back(object{{"partition", p.partition},
                                     {"access", std::string{to_string(p.access)}},
                                     {"examined", static_cast<int64_t>(p.examined)},
                                     {"returned", static_cast<int64_t>(p.returned)},
                                     {"entries", static_cast<int64_t>(p.entries)},
                                     {"slices", static_cast<int64_t>(p.slices)}});
          out.set("plan", value{std::move(plan)});
        }
        return json(200, value{std::move(out)});
      }));
}

} // namespace debros::net
