#include "actors/relations.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "caf/actor_system.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "actors/catalog.hpp"
#include "actors/coordinator.hpp"
#include "actors/engine.hpp"
#include "actors/reply.hpp"
#include "messages/errc.hpp"

namespace debros {

namespace {

using self_ptr = relation_loader::pointer;
using docs_fn = std::function<void(caf::expected<std::vector<value>>)>;

// Relation paths grouped by their first step: "comments.author" -> comments: [author].
std::map<std::string, std::vector<std::string>> split_paths(const std::vector<std::string>& with) {
  std::map<std::string, std::vector<std::string>> out;
  for (auto& path : with) {
    auto dot = path.find('.');
    auto& rest = out[path.substr(0, dot)];
    if (dot != std::string::npos)
      rest.push_back(path.substr(dot + 1));
  }
  return out;
}

struct relation_ctx {
  engine* eng;
  std::shared_ptr<const model_entry> entry;
  std::shared_ptr<const model_entry> target;
  std::shared_ptr<const model_entry> through; // manyToMany only
  const relation_def* rel;
  std::shared_ptr<uint32_t> queries;
};

caf::expected<relation_ctx> resolve(engine& eng, const std::shared_ptr<const model_entry>& entry,
                                    const std::string& name) {
  auto& def = entry->def();
  auto* rel = def.find_relation(name);
  if (rel == nullptr)
    return make_error(errc::invalid_argument, "unknown relation '" + name + "' of " + def.name);
  auto defined =
      [&](const std::string& model) -> caf::expected<std::shared_ptr<const model_entry>> {
    auto e = eng.find(model);
    if (!e)
      return make_error(errc::invalid_argument, "relation '" + name + "' of " + def.name +
                                                    " names model " + model +
                                                    ", which is not defined");
    return *e;
  };
  auto target = defined(rel->model);
  if (!target)
    return target.error();
  std::shared_ptr<const model_entry> through;
  if (rel->type == relation_type::many_to_many) {
    auto t = defined(rel->through);
    if (!t)
      return t.error();
    through = *t;
  }
  return relation_ctx{&eng, entry, *target, through, rel, nullptr};
}

query_expr in_condition(std::string path, std::vector<value> values) {
  query_expr c;
  c.type = query_expr::kind::cond;
  c.path = std::move(path);
  c.op = query_op::in;
  c.operand = value{array(values.begin(), values.end())};
  return c;
}

// Runs `q` on `entry`'s model to the last page and hands all documents to `done`.
void query_all(self_ptr self, engine* eng, std::shared_ptr<const model_entry> entry, query q,
               std::shared_ptr<uint32_t> queries, std::shared_ptr<std::vector<value>> acc,
               docs_fn done) {
  ++*queries;
  q.limit = query_limit_max;
  self->request(spawn_coordinator(*eng, entry), eng->request_timeout(), q)
      .then(
          [=](query_result& r) mutable {
            for (auto& d : r.docs)
              acc->push_back(std::move(d));
            if (r.next_cursor.empty())
              return done(std::move(*acc));
            q.after = std::move(r.next_cursor);
            query_all(self, eng, entry, std::move(q), queries, acc, done);
          },
          [done](caf::error& err) { done(std::move(err)); });
}

// The documents of `entry`'s model whose field `path` is one of `values`, in `order`; with a
// `per_value` limit, at most that many for each value, cut inside the partitions (one grouped
// query: a parent with a million related documents costs its limit, not a million).
void fetch_where_in(self_ptr self, const relation_ctx& rc,
                    const std::shared_ptr<const model_entry>& entry, const std::string& path,
                    std::vector<value> values, std::vector<sort_key> order, docs_fn done,
                    uint64_t per_value = 0) {
  if (values.empty())
    return done(std::vector<value>{});
  query q;
  q.model = entry->def().name;
  q.where.type = query_expr::kind::all;
  q.where.children.push_back(in_condition(path, std::move(values)));
  q.order_by = std::move(order);
  if (per_value == 0)
    return query_all(self, rc.eng, entry, std::move(q), rc.queries,
                     std::make_shared<std::vector<value>>(), std::move(done));
  ++*rc.queries;
  q.limit = query_limit_max;
  self->request(spawn_coordinator(*rc.eng, entry), rc.eng->request_timeout(),
                grouped_query{std::move(q), path, per_value})
      .then([done](query_result& r) { done(std::move(r.docs)); },
            [done](caf::error& err) { done(std::move(err)); });
}

std::vector<sort_key> order_of(const relation_def& rel) {
  std::vector<sort_key> out;
  for (auto& [field, desc] : rel.order_by)
    out.push_back(sort_key{field, desc});
  if (out.empty())
    out.push_back(sort_key{"createdAt", false});
  return out;
}

std::string text_of(const value* v) {
  return v != nullptr && v->is_string() ? v->as_string() : std::string{};
}

std::string cache_key(const relation_ctx& rc, const std::string& parent_id) {
  return "rel|" + rc.entry->def().name + "|" + rc.rel->name + "|" + parent_id;
}

// The value of the relation for each parent, computed from the fetched documents.
using attach_map = std::map<size_t, value>;

// Fetches relation `rc` for the parents at `idx` of `docs`; hands each parent's value over.
void fetch_relation(self_ptr self, const relation_ctx& rc, const std::vector<value>& docs,
                    std::vector<size_t> idx, std::function<void(caf::expected<attach_map>)> done) {
  auto& rel = *rc.rel;
  auto id_of = [&](size_t i) { return text_of(docs[i].find("id")); };
  if (rel.type == relation_type::belongs_to) {
    std::set<std::string> keys;
    std::map<size_t, std::string> key_of;
    for (auto i : idx) {
      auto k = text_of(docs[i].find(rel.foreign_key));
      key_of[i] = k;
      if (!k.empty())
        keys.insert(k);
    }
    std::vector<value> values(keys.begin(), keys.end());
    return fetch_where_in(self, rc, rc.target, "id", std::move(values), {},
                          [key_of, done](caf::expected<std::vector<value>> found) {
                            if (!found)
                              return done(found.error());
                            std::map<std::string, value> by_id;
                            for (auto& d : *found)
                              by_id[text_of(d.find("id"))] = d;
                            attach_map out;
                            for (auto& [i, k] : key_of) {
                              auto hit = by_id.find(k);
                              out[i] = hit != by_id.end() ? hit->second : value{};
                            }
                            done(std::move(out));
                          });
  }
  std::vector<value> parent_ids;
  for (auto i : idx)
    if (auto id = id_of(i); !id.empty())
      parent_ids.emplace_back(id);
  auto group = [rc, idx, &docs](const std::vector<value>& related, const std::string& key_field,
                                const std::map<std::string, std::vector<value>>* lists) {
    attach_map out;
    std::map<std::string, std::vector<value>> by_parent;
    if (lists != nullptr)
      by_parent = *lists;
    else
      for (auto& d : related)
        by_parent[text_of(d.find(key_field))].push_back(d);
    for (auto i : idx) {
      auto& list = by_parent[text_of(docs[i].find("id"))];
      if (rc.rel->limit > 0 && list.size() > static_cast<size_t>(rc.rel->limit))
        list.resize(static_cast<size_t>(rc.rel->limit));
      if (rc.rel->type == relation_type::has_one)
        out[i] = list.empty() ? value{} : list.front();
      else
        out[i] = value{array(list.begin(), list.end())};
    }
    return out;
  };
  if (rel.type != relation_type::many_to_many) {
    // hasOne keeps the first; hasMany its limit (0: all) per parent.
    auto per_parent =
        rel.type == relation_type::has_one ? uint64_t{1} : static_cast<uint64_t>(rel.limit);
    return fetch_where_in(
        self, rc, rc.target, rel.foreign_key, std::move(parent_ids), order_of(rel),
        [group, fk = rel.foreign_key, done](caf::expected<std::vector<value>> r) {
          if (!r)
            return done(r.error());
          done(group(*r, fk, nullptr));
        },
        per_parent);
  }
  // manyToMany: junction rows first, then the related documents they name.
  fetch_where_in(
      self, rc, rc.through, rel.other_key, std::move(parent_ids), {sort_key{"createdAt", false}},
      [self, rc, group, done](caf::expected<std::vector<value>> rows) {
        if (!rows)
          return done(rows.error());
        auto& rel = *rc.rel;
        std::map<std::string, std::vector<std::string>> links; // parent id -> related ids
        std::set<std::string> wanted;
        for (auto& row : *rows) {
          auto related = text_of(row.find(rel.foreign_key));
          if (related.empty())
            continue;
          links[text_of(row.find(rel.other_key))].push_back(related);
          wanted.insert(related);
        }
        std::vector<value> values(wanted.begin(), wanted.end());
        fetch_where_in(self, rc, rc.target, "id", std::move(values), order_of(rel),
                       [links, group, done](caf::expected<std::vector<value>> found) {
                         if (!found)
                           return done(found.error());
                         // Keep the relation's order: the order of the fetched documents.
                         std::map<std::string, size_t> rank;
                         for (size_t k = 0; k < found->size(); ++k)
                           rank[text_of((*found)[k].find("id"))] = k;
                         std::map<std::string, std::vector<value>> lists;
                         for (auto& [parent, ids] : links) {
                           std::vector<size_t> ranks;
                           for (auto& id : ids)
                             if (auto r = rank.find(id); r != rank.end())
                               ranks.push_back(r->second);
                           std::sort(ranks.begin(), ranks.end());
                           ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
                           for (auto r : ranks)
                             lists[parent].push_back((*found)[r]);
                         }
                         done(group({}, {}, &lists));
                       });
      });
}

void load(self_ptr self, engine* eng, std::shared_ptr<const model_entry> entry,
          std::vector<value> docs, const std::vector<std::string>& paths,
          std::shared_ptr<uint32_t> queries, docs_fn done);

// Loads one relation (and what is nested under it) onto `docs`.
void load_one(self_ptr self, relation_ctx rc, std::shared_ptr<std::vector<value>> docs,
              std::vector<std::string> nested, std::function<void(caf::error)> done) {
  auto& cache = rc.eng->relation_cache();
  auto deps_models = std::vector<std::string>{rc.entry->def().name, rc.target->def().name};
  if (rc.through)
    deps_models.push_back(rc.through->def().name);
  auto deps = rc.eng->model_generations().snapshot(deps_models);
  std::vector<size_t> misses;
  for (size_t i = 0; i < docs->size(); ++i) {
    auto id = text_of((*docs)[i].find("id"));
    auto hit = id.empty() ? nullptr : cache.get(cache_key(rc, id));
    if (hit)
      (*docs)[i].as_object().set(rc.rel->name, *hit);
    else
      misses.push_back(i);
  }
  auto attach_nested = [self, rc, docs, nested, done]() {
    if (nested.empty())
      return done(caf::none);
    // The next level for every related document at once, then back into the parents.
    std::vector<value> related;
    for (auto& d : *docs) {
      auto* v = d.find(rc.rel->name);
      if (v != nullptr && v->is_object())
        related.push_back(*v);
      else if (v != nullptr && v->is_array())
        for (auto& x : v->as_array())
          related.push_back(x);
    }
    load(self, rc.eng, rc.target, std::move(related), nested, rc.queries,
         [docs, rc, done](caf::expected<std::vector<value>> loaded) {
           if (!loaded)
             return done(loaded.error());
           std::map<std::string, value> by_id;
           for (auto& d : *loaded)
             by_id[text_of(d.find("id"))] = d;
           auto swap_in = [&](value& v) {
             if (auto hit = by_id.find(text_of(v.find("id"))); hit != by_id.end())
               v = hit->second;
           };
           for (auto& d : *docs) {
             auto* v = d.find(rc.rel->name);
             if (v != nullptr && v->is_object())
               swap_in(*v);
             else if (v != nullptr && v->is_array())
               for (auto& x : v->as_array())
                 swap_in(x);
           }
           done(caf::none);
         });
  };
  if (misses.empty())
    return attach_nested();
  fetch_relation(self, rc, *docs, misses,
                 [rc, docs, deps, attach_nested, done](caf::expected<attach_map> found) {
                   if (!found)
                     return done(found.error());
                   for (auto& [i, v] : *found) {
                     auto id = text_of((*docs)[i].find("id"));
                     if (!id.empty())
                       rc.eng->relation_cache().put(cache_key(rc, id), v, to_msgpack(v).size(),
                                                    deps, rc.eng->relation_cache_ttl());
                     (*docs)[i].as_object().set(rc.rel->name, std::move(v));
                   }
                   attach_nested();
                 });
}

void load(self_ptr self, engine* eng, std::shared_ptr<const model_entry> entry,
          std::vector<value> docs, const std::vector<std::string>& paths,
          std::shared_ptr<uint32_t> queries, docs_fn done) {
  auto tree = split_paths(paths);
  if (tree.empty() || docs.empty())
    return done(std::move(docs));
  struct progress {
    size_t left;
    bool failed = false;
  };
  auto shared_docs = std::make_shared<std::vector<value>>(std::move(docs));
  auto p = std::make_shared<progress>(progress{tree.size()});
  for (auto& [name, nested] : tree) {
    auto rc = resolve(*eng, entry, name);
    if (!rc) {
      p->failed = true;
      return done(rc.error());
    }
    rc->queries = queries;
    load_one(self, *rc, shared_docs, nested, [p, shared_docs, done](caf::error err) {
      if (p->failed)
        return;
      if (err) {
        p->failed = true;
        return done(std::move(err));
      }
      if (--p->left == 0)
        done(std::move(*shared_docs));
    });
  }
}

void answer(self_ptr self, engine* eng, relation_request req, reply<relation_result> r) {
  auto queries = std::make_shared<uint32_t>(0);
  load(self, eng, req.entry, std::move(req.docs), req.with, queries,
       [self, r, queries](caf::expected<std::vector<value>> docs) {
         if (!docs)
           r.fail(docs.error());
         else
           r.deliver(relation_result{std::move(*docs), *queries});
         self->quit();
       });
}

relation_loader::behavior_type loader_main(self_ptr self, engine* eng) {
  return {
      [self, eng](relation_request& req) {
        auto rp = self->make_response_promise<relation_result>();
        answer(self, eng, std::move(req), reply<relation_result>{rp});
        return rp;
      },
  };
}

} // namespace

relation_loader spawn_relation_loader(engine& eng) {
  return eng.system().spawn(loader_main, &eng);
}

caf::expected<std::vector<std::string>> relation_models(const engine& eng, const model_entry& entry,
                                                        const std::vector<std::string>& with) {
  std::vector<std::string> out{entry.def().name};
  for (auto& [name, nested] : split_paths(with)) {
    auto* rel = entry.def().find_relation(name);
    if (rel == nullptr)
      return make_error(errc::invalid_argument,
                        "unknown relation '" + name + "' of " + entry.def().name);
    auto target = eng.find(rel->model);
    if (!target)
      return make_error(errc::invalid_argument, "relation '" + name + "' of " + entry.def().name +
                                                    " names model " + rel->model +
                                                    ", which is not defined");
    if (rel->type == relation_type::many_to_many) {
      if (!eng.find(rel->through))
        return make_error(errc::invalid_argument, "relation '" + name + "' of " + entry.def().name +
                                                      " names model " + rel->through +
                                                      ", which is not defined");
      out.push_back(rel->through);
    }
    auto deeper = relation_models(eng, **target, nested);
    if (!deeper)
      return deeper.error();
    out.insert(out.end(), deeper->begin(), deeper->end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

} // namespace debros
