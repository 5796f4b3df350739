// Requests and replies exchanged with the actors that own documents (shards, user databases,
// global index partitions) and with query coordinators. Plain structs, serialized positionally by
// `inspect`: append fields, never reorder; a changed layout is a new type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"

#include "messages/msgpack_codec.hpp"
#include "messages/plan.hpp"
#include "messages/query.hpp"
#include "messages/value.hpp"

namespace debros {

/// Create a document. `doc` carries its `id` (the router assigns one when the caller gave none).
/// Reply: the stored document.
struct doc_create {
  std::string model;
  value doc;
  /// Empty: the write is trusted (the admin, an embedding application). Otherwise the user on
  /// whose behalf it is made (a user token): the partition applying it refuses, with forbidden,
  /// to change a document whose userId is another user or missing (checked on the state the
  /// write changes, never on an earlier read).
  std::string as_user;
};

/// Read a document by id. Reply: the document, or not_found.
struct doc_get {
  std::string model;
  std::string id;
};

/// Merge `fields` into a document (PATCH; a null member removes the field), or replace its fields
/// (PUT) when `replace`. Reply: the stored document.
struct doc_update {
  std::string model;
  std::string id;
  value fields;
  bool replace = false;
  /// As for doc_create.
  std::string as_user;
};

/// Delete a document. Reply: true (not_found when absent).
struct doc_remove {
  std::string model;
  std::string id;
  /// As for doc_create.
  std::string as_user;
};

/// Add `by` to a numeric field. Reply: the field's new value.
struct doc_increment {
  std::string model;
  std::string id;
  std::string field;
  value by;
  /// As for doc_create. The increment that creates a missing counter makes this user its owner.
  std::string as_user;
};

/// One document of a partition's answer: its sort tuple (query.hpp, ending in the id, so it
/// names the document) and its msgpack body (empty when the query asked for no bodies).
struct query_hit {
  std::vector<value> tuple;
  std::string body;
};

/// The part of a query one partition answers: up to `k` best hits in order (after the cursor
/// tuple `after`, when not empty), the number of all matches when `count_total`, and the partial
/// aggregate when the query has one. Without `bodies` the hits carry their sort tuples only (the
/// coordinator merges them, then asks for the page's documents). The hits a partition holds
/// while it scans may take at most `memory_bytes_max` (0: no bound); past it the answer is
/// `too_large`.
struct partition_query {
  query q;
  uint64_t k = 0;
  std::vector<value> after;
  bool count_total = false;
  bool bodies = true;
  uint64_t memory_bytes_max = 0;
  /// When `group_limit` is not zero: at most `group_limit` hits per value of the field
  /// `group_path` (best first), and `k` does not apply (see grouped_query).
  std::string group_path;
  uint64_t group_limit = 0;
  /// Entries a partition reads per slice of its scan (actors/partition_scan.hpp); 0: the whole
  /// scan at once.
  uint64_t slice_entries = 0;
};

/// A query whose hits are kept per group: at most `group_limit` documents per value of the field
/// `group_path`, best first in the query's order, over all partitions, each partition keeping
/// only its best `group_limit` of each group (relation loads: a hasMany or hasOne with a limit
/// gets it per parent, never every related document). All kept documents are answered in one
/// result, in order; the query's limit, offset, cursor, total and aggregate do not apply.
struct grouped_query {
  query q;
  std::string group_path;
  uint64_t group_limit = 0;
};

/// How a partition answered: the access path it chose and how many documents it examined.
struct partition_stats {
  uint64_t examined = 0;
  plan_kind plan = plan_kind::none;
  /// The slices the scan took (actors/partition_scan.hpp): 1 when it fit one.
  uint32_t slices = 1;
  /// Keys the scan read: index entries and documents walked, those it skipped included.
  uint64_t entries = 0;
};

struct partition_result {
  std::vector<query_hit> hits;
  uint64_t total = 0;
  aggregate_state agg;
  partition_stats stats;
};

/// What a query reports about its execution (visible to tests and metrics).
struct query_stats {
  /// Partitions (shards, user databases) the coordinator asked.
  uint32_t partitions = 0;
  /// Documents examined across partitions.
  uint64_t examined = 0;
  /// Partitions that answered from an index (or by id): those whose plan uses_index.
  uint32_t indexed_partitions = 0;
  /// A query on a user-scoped model that no userIn and no global index narrowed: every user's
  /// database was visited.
  bool all_users = false;
  /// Sub-queries issued to load relations (`with`); cached relations issue none.
  uint32_t relation_queries = 0;
  /// The result came from the query-result cache.
  bool cached = false;
  /// How many partitions answered by each access path, indexed by plan_kind's value
  /// (plan_kind_count entries; all zero when no partition was asked). A cached result reports
  /// the plans of the query that filled the cache.
  std::vector<uint32_t> plans = std::vector<uint32_t>(plan_kind_count, 0);
  /// Slices the partitions' scans took in all (one per partition that fit one).
  uint32_t slices = 0;
  /// Keys the partitions' scans read in all (partition_stats::entries).
  uint64_t entries = 0;
};

/// The answer to a query: the page of documents (or the aggregate), the total when asked, and
/// the cursor of the next page (empty when this page is the last).
/// An operation for the database of `user` of model `model`, sent to the user-database host of
/// the user's range, which activates the database and forwards `msg` to it.
template <class T>
struct for_user {
  std::string model;
  std::string user;
  T msg;
};

/// One partition's part in a query, reported when the query asks to explain itself.
struct partition_plan {
  /// The partition: "Model/shard/N", "Model/user/U" (a user's database), "Model/gindex/N" (a
  /// global index partition) or "Model/users/N" (the scan of every user's database of user
  /// database host N).
  std::string partition;
  /// The access path it chose.
  plan_kind access = plan_kind::none;
  /// Documents it examined (read and checked against the query).
  uint64_t examined = 0;
  /// Candidates it returned to the coordinator (the page takes the best of all partitions').
  uint64_t returned = 0;
  /// Keys it read: index entries and documents walked, skipped ones included.
  uint64_t entries = 0;
  /// Slices its scan took.
  uint32_t slices = 0;
};

struct query_result {
  std::vector<value> docs;
  bool has_total = false;
  uint64_t total = 0;
  std::string next_cursor;
  bool has_aggregate = false;
  value aggregate;
  query_stats stats;
  /// With query::explain: one entry per partition asked, in the order they were asked.
  std::vector<partition_plan> plan;
};

/// What a node tells the nodes it meets (cluster membership).
struct node_info {
  std::string id;
  /// HOST:PORT of its HTTP gateway and of its cluster port.
  std::string http;
  std::string cluster;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("debros::node_info"), x.id, x.http, x.cluster);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, doc_create& x) {
  return f(caf::meta::type_name("debros::doc_create"), x.model, x.doc, x.as_user);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, doc_get& x) {
  return f(caf::meta::type_name("debros::doc_get"), x.model, x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, doc_update& x) {
  return f(caf::meta::type_name("debros::doc_update"), x.model, x.id, x.fields, x.replace,
           x.as_user);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, doc_remove& x) {
  return f(caf::meta::type_name("debros::doc_remove"), x.model, x.id, x.as_user);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, doc_increment& x) {
  return f(caf::meta::type_name("debros::doc_increment"), x.model, x.id, x.field, x.by, x.as_user);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_hit& x) {
  return f(caf::meta::type_name("debros::query_hit"), x.tuple, x.body);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_query& x) {
  return f(caf::meta::type_name("debros::partition_query"), x.q, x.k, x.after, x.count_total,
           x.bodies, x.memory_bytes_max, x.group_path, x.group_limit, x.slice_entries);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, grouped_query& x) {
  return f(caf::meta::type_name("debros::grouped_query"), x.q, x.group_path, x.group_limit);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_stats& x) {
  return f(caf::meta::type_name("debros::partition_stats"), x.examined, x.plan, x.slices,
           x.entries);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_result& x) {
  return f(caf::meta::type_name("debros::partition_result"), x.hits, x.total, x.agg, x.stats);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_stats& x) {
  return f(caf::meta::type_name("debros::query_stats"), x.partitions, x.examined,
           x.indexed_partitions, x.all_users, x.relation_queries, x.cached, x.plans, x.slices,
           x.entries);
}

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, for_user<T>& x) {
  return f(caf::meta::type_name("debros::for_user"), x.model, x.user, x.msg);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_plan& x) {
  return f(caf::meta::type_name("debros::partition_plan"), x.partition, x.access, x.examined,
           x.returned, x.entries, x.slices);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_result& x) {
  return f(caf::meta::type_name("debros::query_result"), x.docs, x.has_total, x.total,
           x.next_cursor, x.has_aggregate, x.aggregate, x.stats, x.plan);
}

} // namespace debros
