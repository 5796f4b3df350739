// Key-value and pub/sub commands.
#include "apps/cli/commands.hpp"
#include "apps/cli/commands_detail.hpp"
#include "apps/cli/subscribe.hpp"
#include "messages/errc.hpp"
#include "messages/json.hpp"

namespace debros::cli {

using namespace detail;

namespace {

std::string kv_path(const std::string& ns, const std::string& key) {
  return "/v1/kv/" + url_encode(ns) + "/" + url_encode(key);
}

// Sends a raw request and turns a non-2xx reply into its error.
caf::expected<net::http_response> raw_call(context& c, std::string_view method,
                                           const std::string& target, std::string_view body = {},
                                           const net::header_list& headers = {}) {
  auto reply = c.client.request(method, target, body, headers);
  if (!reply)
    return reply.error();
  if (reply->status < 200 || reply->status >= 300)
    return net::error_of(*reply);
  return reply;
}

std::string topic_path(const std::string& topic) {
  return "/v1/topics/" + url_encode(topic);
}

} // namespace

int kv_put(context& c, const std::string& ns, const std::string& key,
           const std::string& value_arg) {
  std::string bytes;
  if (value_arg == "-" || value_arg.starts_with('@')) {
    auto read = read_input(value_arg == "-" ? value_arg : value_arg.substr(1));
    if (!read)
      return fail(c, read.error());
    bytes = std::move(*read);
  } else {
    bytes = value_arg;
  }
  static const net::header_list octets{{"Content-Type", "application/octet-stream"}};
  auto reply = raw_call(c, "PUT", kv_path(ns, key), bytes, octets);
  if (!reply)
    return fail(c, reply.error());
  auto body = parse_json(reply->body);
  print_reply(c.out, c.format, body ? *body : value{reply->body}, layout::fields);
  return exit_ok;
}

int kv_get(context& c, const std::string& ns, const std::string& key) {
  auto reply = raw_call(c, "GET", kv_path(ns, key));
  if (!reply)
    return fail(c, reply.error());
  c.out.write(reply->body.data(), static_cast<std::streamsize>(reply->body.size()));
  c.out.flush();
  return exit_ok;
}

int kv_del(context& c, const std::string& ns, const std::string& key) {
  return call_and_print(c, "DELETE", kv_path(ns, key), nullptr, layout::none);
}

int kv_list(context& c, const std::string& ns, const std::string& prefix,
            std::optional<int64_t> limit) {
  std::string target = "/v1/kv/" + url_encode(ns);
  char sep = '?';
  if (!prefix.empty()) {
    target += sep + std::string{"prefix="} + url_encode(prefix);
    sep = '&';
  }
  if (limit)
    target += sep + std::string{"limit="} + std::to_string(*limit);
  auto reply = call(c, "GET", target);
  if (!reply)
    return fail(c, reply.error());
  if (c.format == output_format::json) {
    print_reply(c.out, c.format, *reply, layout::fields);
    return exit_ok;
  }
  // Keys are strings, not documents: one row per key under the column "key".
  array rows;
  if (auto keys = reply->find("keys"); keys != nullptr && keys->is_array())
    for (auto& k : keys->as_array())
      rows.push_back(value{object{{"key", k}}});
  print_reply(c.out, c.format, value{object{{"keys", std::move(rows)}}}, layout::table, "keys");
  return exit_ok;
}

int publish(context& c, const std::string& topic, const std::string& json) {
  auto data = parse_json(json);
  if (!data)
    return usage_error(c.err, "the JSON argument is not valid JSON: " + message_of(data.error()));
  return call_and_print(c, "POST", topic_path(topic) + "/messages", &*data, layout::fields);
}

int subscribe(context& c, const std::string& topic,
              std::optional<std::chrono::milliseconds> duration, std::optional<int64_t> since) {
  std::string target = topic_path(topic) + "/ws";
  if (since)
    target += "?since=" + std::to_string(*since);
  subscription s{to_string(c.client.url()), c.client.options(), c.token, target, duration};
  if (auto err = run_subscription(s, c.out))
    return fail(c, err);
  return exit_ok;
}

int topics(context& c) {
  return call_and_print(c, "GET", "/v1/topics", nullptr, layout::table, "topics");
}

} // namespace debros::cli
