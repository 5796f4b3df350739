// debros: the command-line client of a Debros node (docs/API.md "CLI").
//
// Exit statuses: 0 success; 1 the operation failed (the server's error, a network failure, an
// unreadable file), with "debros: CODE: message" on stderr; 2 the command line is wrong.
#include <cstdint>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "apps/cli/args.hpp"
#include "apps/cli/commands.hpp"
#include "apps/cli/output.hpp"
#include "messages/errc.hpp"
#include "net/http_client.hpp"

using namespace debros;
using namespace debros::cli;

namespace {

using command = std::function<int(context&)>;

// Everything the command line sets. One command runs per process, so the commands share the
// positional slots a1..a3.
struct command_line {
  std::string node = "http://127.0.0.1:7700";
  std::string token;
  std::string format = "table";
  std::string timeout = "30s";
  bool insecure = false;
  std::string ca_file;
  std::string a1, a2, a3;
  std::string name;
  query_args query;
  std::optional<int64_t> limit;
  std::optional<std::string> listen_for;
  std::optional<int64_t> since;
  bool dry_run = false;
  uint32_t batch = 500;
  command run;
};

// Adds a subcommand whose callback selects `run` (built when the command line is complete).
CLI::App* leaf(CLI::App& parent, command_line& cl, const char* name, const char* help,
               std::function<command()> make) {
  auto sub = parent.add_subcommand(name, help);
  sub->callback([&cl, make = std::move(make)] { cl.run = make(); });
  return sub;
}

void add_node_commands(CLI::App& app, command_line& cl) {
  leaf(app, cl, "health", "Check that the node answers (GET /v1/health)", [] { return health; });
  leaf(app, cl, "status", "Show the node's status", [] { return status; });
  leaf(app, cl, "peers", "List the cluster's nodes", [] { return peers; });
}

void add_model_commands(CLI::App& app, command_line& cl) {
  auto model = app.add_subcommand("model", "Define and inspect models");
  auto apply = leaf(*model, cl, "apply", "Define a model from a JSON file", [&cl]() -> command {
    return [&cl](context& c) { return model_apply(c, cl.a1, cl.name); };
  });
  apply->add_option("file", cl.a1, "The definition (JSON)")->required();
  apply->add_option("--name", cl.name, "Model name (default: the file's \"name\", or its name)");
  leaf(*model, cl, "list", "List the models", [] { return model_list; });
  auto show = leaf(*model, cl, "show", "Show a model's definition and count", [&cl]() -> command {
    return [&cl](context& c) { return model_show(c, cl.a1); };
  });
  show->add_option("model", cl.a1, "Model name")->required();
  model->require_subcommand(1);
}

void add_document_commands(CLI::App& app, command_line& cl) {
  auto create_cmd = leaf(app, cl, "create", "Create a document", [&cl]() -> command {
    return [&cl](context& c) { return create(c, cl.a1, cl.a2); };
  });
  create_cmd->add_option("model", cl.a1, "Model name")->required();
  create_cmd->add_option("json", cl.a2, "The document's fields (JSON object)")->required();
  auto get_cmd = leaf(app, cl, "get", "Show a document", [&cl]() -> command {
    return [&cl](context& c) { return get(c, cl.a1, cl.a2, cl.query.with, cl.a3); };
  });
  get_cmd->add_option("model", cl.a1, "Model name")->required();
  get_cmd->add_option("id", cl.a2, "Document id")->required();
  get_cmd->add_option("--with", cl.query.with, "Embed a relationship (repeatable)")
      ->allow_extra_args(false);
  get_cmd->add_option("--user", cl.a3, "The owner of a user-scoped document (a routing hint)");
  auto update_cmd = leaf(app, cl, "update", "Merge fields into a document", [&cl]() -> command {
    return [&cl](context& c) { return update(c, cl.a1, cl.a2, cl.a3); };
  });
  update_cmd->add_option("model", cl.a1, "Model name")->required();
  update_cmd->add_option("id", cl.a2, "Document id")->required();
  update_cmd->add_option("json", cl.a3, "The fields to change (JSON object)")->required();
  auto delete_cmd = leaf(app, cl, "delete", "Delete a document", [&cl]() -> command {
    return [&cl](context& c) { return remove(c, cl.a1, cl.a2); };
  });
  delete_cmd->add_option("model", cl.a1, "Model name")->required();
  delete_cmd->add_option("id", cl.a2, "Document id")->required();
}

void add_query_commands(CLI::App& app, command_line& cl) {
  auto q = leaf(app, cl, "query", "Query a model's documents", [&cl]() -> command {
    return [&cl](context& c) { return query(c, cl.a1, cl.query); };
  });
  q->add_option("model", cl.a1, "Model name")->required();
  q->add_option("--where", cl.query.where, "Condition \"field op value\" (repeatable, ANDed)")
      ->allow_extra_args(false);
  q->add_option("--user", cl.query.users, "Only these users' documents (repeatable)")
      ->allow_extra_args(false);
  q->add_option("--order", cl.query.order, "Sort \"field [asc|desc]\" (repeatable)")
      ->allow_extra_args(false);
  q->add_option("--limit", cl.query.limit, "At most N documents (server default 100)");
  q->add_option("--offset", cl.query.offset, "Skip N documents");
  q->add_option("--with", cl.query.with, "Embed a relationship (repeatable)")
      ->allow_extra_args(false);
  q->add_option("--aggregate", cl.query.aggregate,
                "\"fn [field]\": count, sum, avg, min or max instead of documents");
  q->add_option("--after", cl.query.after, "Continue from a previous page's next cursor");
  q->add_flag("--total", cl.query.total, "Also count every match (\"total\")");
  q->add_flag("--explain", cl.query.explain,
              "Also print each partition's plan: its access path, the documents it examined "
              "and returned, the keys it read");
  auto imp = leaf(app, cl, "import", "Create the documents of a JSON-lines file in batches",
                  [&cl]() -> command {
                    return [&cl](context& c) { return import_docs(c, cl.a1, cl.a2, cl.batch); };
                  });
  imp->add_option("model", cl.a1, "Model name")->required();
  imp->add_option("file", cl.a2, "One JSON document per line (- for stdin)")->required();
  imp->add_option("--batch", cl.batch, "Documents per request")
      ->capture_default_str()
      ->check(CLI::Range(1, 100'000));
}

void add_kv_commands(CLI::App& app, command_line& cl) {
  auto kv = app.add_subcommand("kv", "Key-value storage");
  auto put = leaf(*kv, cl, "put", "Store a value", [&cl]() -> command {
    return [&cl](context& c) { return kv_put(c, cl.a1, cl.a2, cl.a3); };
  });
  put->add_option("ns", cl.a1, "Namespace")->required();
  put->add_option("key", cl.a2, "Key")->required();
  put->add_option("value", cl.a3, "The bytes; @FILE reads a file, - reads stdin")->required();
  auto get_cmd = leaf(*kv, cl, "get", "Write a value's bytes to stdout", [&cl]() -> command {
    return [&cl](context& c) { return kv_get(c, cl.a1, cl.a2); };
  });
  get_cmd->add_option("ns", cl.a1, "Namespace")->required();
  get_cmd->add_option("key", cl.a2, "Key")->required();
  auto del = leaf(*kv, cl, "del", "Delete a key", [&cl]() -> command {
    return [&cl](context& c) { return kv_del(c, cl.a1, cl.a2); };
  });
  del->add_option("ns", cl.a1, "Namespace")->required();
  del->add_option("key", cl.a2, "Key")->required();
  auto list = leaf(*kv, cl, "list", "List keys in key order", [&cl]() -> command {
    return [&cl](context& c) { return kv_list(c, cl.a1, cl.a2, cl.limit); };
  });
  list->add_option("ns", cl.a1, "Namespace")->required();
  list->add_option("prefix", cl.a2, "Only keys starting with PREFIX");
  list->add_option("--limit", cl.limit, "At most N keys (server default 100)");
  kv->require_subcommand(1);
}

void add_pubsub_commands(CLI::App& app, command_line& cl) {
  auto ps = app.add_subcommand("pubsub", "Publish and subscribe");
  auto pub = leaf(*ps, cl, "publish", "Publish a JSON message", [&cl]() -> command {
    return [&cl](context& c) { return publish(c, cl.a1, cl.a2); };
  });
  pub->add_option("topic", cl.a1, "Topic")->required();
  pub->add_option("json", cl.a2, "The message (JSON)")->required();
  auto sub = leaf(*ps, cl, "subscribe", "Print a topic's messages, one JSON line each",
                  [&cl]() -> command {
                    return [&cl](context& c) {
                      std::optional<std::chrono::milliseconds> d;
                      if (cl.listen_for) {
                        auto parsed = parse_duration(*cl.listen_for);
                        if (!parsed)
                          return usage_error(c.err, message_of(parsed.error()));
                        d = *parsed;
                      }
                      return subscribe(c, cl.a1, d, cl.since);
                    };
                  });
  sub->add_option("topic", cl.a1, "Topic")->required();
  sub->add_option("--for", cl.listen_for, "Stop after this long: 500ms, 10s, 2m (default: never)");
  sub->add_option("--since", cl.since, "First replay the retained messages after seq N");
  leaf(*ps, cl, "topics", "List the topics", [] { return topics; });
  ps->require_subcommand(1);
}

void add_migrate_commands(CLI::App& app, command_line& cl) {
  auto m = app.add_subcommand("migrate", "Schema migrations");
  auto add = leaf(*m, cl, "add", "Register a migration from a JSON file", [&cl]() -> command {
    return [&cl](context& c) { return migrate_add(c, cl.a1); };
  });
  add->add_option("file", cl.a1, "The migration (JSON)")->required();
  auto run = leaf(*m, cl, "run", "Run a migration and wait for it", [&cl]() -> command {
    return [&cl](context& c) { return migrate_run(c, cl.a1, cl.dry_run); };
  });
  run->add_option("id", cl.a1, "Migration id")->required();
  run->add_flag("--dry-run", cl.dry_run, "Check every document without changing any");
  auto st = leaf(*m, cl, "status", "Show a migration's state", [&cl]() -> command {
    return [&cl](context& c) { return migrate_status(c, cl.a1); };
  });
  st->add_option("id", cl.a1, "Migration id")->required();
  auto rb = leaf(*m, cl, "rollback", "Roll an applied migration back", [&cl]() -> command {
    return [&cl](context& c) { return migrate_rollback(c, cl.a1); };
  });
  rb->add_option("id", cl.a1, "Migration id")->required();
  m->require_subcommand(1);
}

void add_global_options(CLI::App& app, command_line& cl) {
  app.add_option("--node", cl.node, "The node's URL, http:// or https://")
      ->envname("DEBROS_NODE")
      ->capture_default_str();
  app.add_option("--token", cl.token, "Bearer token (default: ./data/admin.token if readable)")
      ->envname("DEBROS_TOKEN");
  app.add_option("--format", cl.format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", cl.timeout, "Connect and request timeout: 500ms, 30s, 2m")
      ->capture_default_str();
  app.add_flag("--insecure", cl.insecure, "https: accept any server certificate (test setups)");
  app.add_option("--ca", cl.ca_file, "https: also trust the CA certificates of this PEM file");
  app.set_version_flag("--version", DEBROS_VERSION);
}

// The token of ./data/admin.token without surrounding whitespace; empty when unreadable.
std::string default_token() {
  std::ifstream in{"data/admin.token"};
  if (!in)
    return {};
  std::stringstream buf;
  buf << in.rdbuf();
  return std::string{trim(buf.str())};
}

int run_command(command_line& cl) {
  auto timeout = parse_duration(cl.timeout);
  if (!timeout)
    return usage_error(std::cerr, message_of(timeout.error()));
  net::http_client_options options;
  options.connect_timeout = *timeout;
  options.request_timeout = *timeout;
  options.tls_insecure = cl.insecure;
  options.tls_ca_file = cl.ca_file;
  auto client = net::http_client::make(cl.node, options);
  if (!client)
    return usage_error(std::cerr, message_of(client.error()));
  auto token = cl.token.empty() ? default_token() : std::string{trim(cl.token)};
  if (!token.empty())
    client->set_default_header("Authorization", "Bearer " + token);
  context c{*client, cl.format == "json" ? output_format::json : output_format::table, token,
            std::cout, std::cerr};
  return cl.run(c);
}

// CLI11 reports "debros foo" as "A subcommand is required"; name the word it did not know.
std::string parse_error_message(CLI::App& app, const CLI::ParseError& e) {
  auto* deepest = &app;
  std::string path = "";
  for (;;) {
    auto subs = deepest->get_subcommands();
    if (subs.empty())
      break;
    deepest = subs.front();
    path += deepest->get_name() + " ";
  }
  // With fallthrough, words a subcommand did not take end up with the top-level app.
  auto rest = deepest->remaining();
  if (rest.empty())
    rest = app.remaining();
  if (deepest->get_require_subcommand_min() > 0 && deepest->get_subcommands().empty()) {
    if (!rest.empty())
      return "unknown command '" + path + rest.front() + "'";
    return path.empty() ? "no command given"
                        : "'" + path.substr(0, path.size() - 1) + "' needs a subcommand";
  }
  return e.what();
}

} // namespace

int main(int argc, char** argv) {
  command_line cl;
  CLI::App app{"debros: the command-line client of a Debros node"};
  // Global options may also follow the command: `debros query Post --format json`.
  app.fallthrough();
  add_global_options(app, cl);
  add_node_commands(app, cl);
  add_model_commands(app, cl);
  add_document_commands(app, cl);
  add_query_commands(app, cl);
  add_kv_commands(app, cl);
  add_pubsub_commands(app, cl);
  add_migrate_commands(app, cl);
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11's own exit codes are 100+; a wrong command line exits 2 like getopt tools do.
    return usage_error(std::cerr, parse_error_message(app, e));
  }
  if (!cl.run)
    return usage_error(std::cerr, "no command given");
  return run_command(cl);
}
