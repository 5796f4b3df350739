// Node, model, document and query commands, and the helpers every command uses.
#include "apps/cli/commands.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "apps/cli/commands_detail.hpp"
#include "messages/errc.hpp"
#include "messages/json.hpp"

namespace debros::cli {

namespace detail {

caf::expected<value> call(context& c, std::string_view method, const std::string& target,
                          const value* body, int* status) {
  auto reply =
      body != nullptr ? c.client.json(method, target, *body) : c.client.json(method, target);
  if (!reply)
    return reply.error();
  if (status != nullptr)
    *status = reply->status;
  if (reply->status < 200 || reply->status >= 300)
    return net::error_of(*reply);
  return std::move(reply->body);
}

int call_and_print(context& c, std::string_view method, const std::string& target,
                   const value* body, layout how, std::string_view member) {
  auto reply = call(c, method, target, body);
  if (!reply)
    return fail(c, reply.error());
  print_reply(c.out, c.format, *reply, how, member);
  return exit_ok;
}

int fail(context& c, const caf::error& e) {
  print_error(c.err, e);
  return exit_failure;
}

caf::expected<std::string> read_input(const std::string& path) {
  if (path == "-") {
    std::ostringstream buf;
    buf << std::cin.rdbuf();
    return buf.str();
  }
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(errc::io_error, "cannot read " + path + ": " + std::strerror(errno));
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (in.bad())
    return make_error(errc::io_error, "cannot read " + path + ": " + std::strerror(errno));
  return text;
}

caf::expected<value> read_json_file(const std::string& path) {
  auto text = read_input(path);
  if (!text)
    return text.error();
  auto parsed = parse_json(*text);
  if (!parsed)
    return make_error(code_of(parsed.error()), path + ": " + message_of(parsed.error()));
  return parsed;
}

std::string model_path(const std::string& model) {
  return "/v1/models/" + url_encode(model);
}

} // namespace detail

using namespace detail;

namespace {

// A JSON document given on the command line; a malformed one is a usage error.
caf::expected<value> json_argument(const std::string& text) {
  auto parsed = parse_json(text);
  if (!parsed)
    return make_error(errc::invalid_argument,
                      "the JSON argument is not valid JSON: " + message_of(parsed.error()));
  return parsed;
}

std::string doc_path(const std::string& model, const std::string& id) {
  return model_path(model) + "/docs/" + url_encode(id);
}

} // namespace

int health(context& c) {
  return call_and_print(c, "GET", "/v1/health", nullptr, layout::fields);
}

int status(context& c) {
  return call_and_print(c, "GET", "/v1/status", nullptr, layout::fields);
}

int peers(context& c) {
  return call_and_print(c, "GET", "/v1/peers", nullptr, layout::table, "peers");
}

int model_apply(context& c, const std::string& file, const std::string& name_option) {
  auto def = read_json_file(file);
  if (!def)
    return fail(c, def.error());
  auto name = model_name_for(name_option, *def, file);
  if (!name)
    return usage_error(c.err, message_of(name.error()));
  int status = 0;
  auto reply = call(c, "PUT", model_path(*name), &*def, &status);
  if (!reply)
    return fail(c, reply.error());
  if (c.format == output_format::json)
    print_reply(c.out, c.format, *reply, layout::fields);
  else
    c.out << (status == 201 ? "created " : "unchanged ") << *name << '\n';
  return exit_ok;
}

int model_list(context& c) {
  return call_and_print(c, "GET", "/v1/models", nullptr, layout::table, "models");
}

int model_show(context& c, const std::string& model) {
  return call_and_print(c, "GET", model_path(model), nullptr, layout::fields);
}

int create(context& c, const std::string& model, const std::string& json) {
  auto doc = json_argument(json);
  if (!doc)
    return usage_error(c.err, message_of(doc.error()));
  return call_and_print(c, "POST", model_path(model) + "/docs", &*doc, layout::fields);
}

int get(context& c, const std::string& model, const std::string& id,
        const std::vector<std::string>& with, const std::string& user) {
  auto target = doc_path(model, id);
  char sep = '?';
  if (!with.empty()) {
    std::string list;
    for (auto& w : with)
      list += (list.empty() ? "" : ",") + w;
    target += sep + ("with=" + url_encode(list));
    sep = '&';
  }
  if (!user.empty())
    target += sep + ("user=" + url_encode(user));
  return call_and_print(c, "GET", target, nullptr, layout::fields);
}

int update(context& c, const std::string& model, const std::string& id, const std::string& json) {
  auto doc = json_argument(json);
  if (!doc)
    return usage_error(c.err, message_of(doc.error()));
  return call_and_print(c, "PATCH", doc_path(model, id), &*doc, layout::fields);
}

int remove(context& c, const std::string& model, const std::string& id) {
  return call_and_print(c, "DELETE", doc_path(model, id), nullptr, layout::none);
}

int query(context& c, const std::string& model, const query_args& args) {
  auto body = build_query_body(args);
  if (!body)
    return usage_error(c.err, message_of(body.error()));
  // An aggregate's {"value": V} has no "docs": it prints as fields.
  return call_and_print(c, "POST", model_path(model) + "/query", &*body, layout::table, "docs");
}

} // namespace debros::cli
