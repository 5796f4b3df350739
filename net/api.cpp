#include "net/api.hpp"

#include <algorithm>
#include <charconv>

#include "actors/runtime.hpp"
#include "messages/json.hpp"
#include "net/api_context.hpp"

namespace debros::net {

// -- errors ------------------------------------------------------------------------------------

int http_status(errc code) noexcept {
  switch (code) {
  case errc::invalid_argument:
    return 400;
  case errc::unauthenticated:
    return 401;
  case errc::forbidden:
    return 403;
  case errc::not_found:
    return 404;
  case errc::conflict:
    return 409;
  case errc::too_large:
    return 413;
  case errc::validation_failed:
    return 422;
  case errc::unimplemented:
    return 501;
  case errc::unavailable:
  case errc::shutting_down:
    return 503;
  case errc::timeout:
    return 504;
  case errc::storage_full:
    return 507;
  default:
    return 500;
  }
}

api_response api::json(int status, const value& body) {
  api_response out;
  out.status = status;
  out.body = to_json(body);
  return out;
}

api_response api::error(const caf::error& err) {
  auto code = code_of(err);
  // Clients know "unavailable" for every 503; a node that is stopping is one of them.
  auto name = code == errc::shutting_down ? std::string_view{"unavailable"} : to_string(code);
  array details;
  for (auto& d : details_of(err))
    details.emplace_back(object{{"field", d.field}, {"message", d.message}});
  return json(http_status(code), value{object{{"error", object{{"code", std::string{name}},
                                                               {"message", message_of(err)},
                                                               {"details", std::move(details)}}}}});
}

api_response api::error(errc code, std::string message) {
  return error(make_error(code, std::move(message)));
}

// -- decoding ----------------------------------------------------------------------------------

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size())
        return false;
      int hi = hexval(in[i + 1]);
      int lo = hexval(in[i + 2]);
      if (hi < 0 || lo < 0)
        return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

std::optional<size_t> parse_count(std::string_view text, size_t max) noexcept {
  // std::from_chars takes no '+' or spaces, but it would take a '-'; digits only, checked here.
  if (text.empty() || text.size() > 20)
    return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9')
      return std::nullopt;
  size_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || ptr != text.data() + text.size() || n > max)
    return std::nullopt;
  return n;
}

std::optional<std::string> api::context::param(std::string_view name) const {
  for (auto& [k, v] : params)
    if (k == name)
      return v;
  return std::nullopt;
}

caf::expected<value> api::context::body_json(const api_limits& limits) const {
  json_limits jl;
  jl.max_bytes = limits.body_bytes_max;
  jl.max_depth = limits.json_depth_max;
  jl.max_values = limits.json_values_max;
  if (req.body.empty())
    return make_error(errc::invalid_argument, "the request needs a JSON body");
  return parse_json(req.body, jl);
}

// -- dispatch ----------------------------------------------------------------------------------

api::api(runtime& rt, auth& a, metrics& m, api_limits limits)
    : rt_(rt), auth_(a), metrics_(m), limits_(limits), started_(std::chrono::steady_clock::now()) {}

void api::set_addresses(std::string http, std::string cluster) {
  std::lock_guard<std::mutex> guard{view_mtx_};
  view_.http = std::move(http);
  view_.cluster = std::move(cluster);
}

void api::set_peers(peers_fn fn) {
  std::lock_guard<std::mutex> guard{view_mtx_};
  view_.peers = std::move(fn);
}

api::node_view api::view() const {
  std::lock_guard<std::mutex> guard{view_mtx_};
  return view_;
}

value api::peers() const {
  auto fn = view().peers;
  return fn ? fn() : value{array{}};
}

namespace {

// Splits "/v1/a/b" into decoded segments {"v1", "a", "b"}.
bool split_path(std::string_view path, std::vector<std::string>& out) {
  if (path.empty() || path.front() != '/')
    return false;
  path.remove_prefix(1);
  while (!path.empty()) {
    auto slash = path.find('/');
    std::string seg;
    if (!percent_decode(path.substr(0, slash), seg))
      return false;
    out.push_back(std::move(seg));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return true;
}

bool split_query(std::string_view q, std::vector<std::pair<std::string, std::string>>& out) {
  while (!q.empty()) {
    auto amp = q.find('&');
    auto item = q.substr(0, amp);
    auto eq = item.find('=');
    std::string k;
    std::string v;
    if (!percent_decode(item.substr(0, eq), k, true))
      return false;
    if (eq != std::string_view::npos && !percent_decode(item.substr(eq + 1), v, true))
      return false;
    if (!k.empty())
      out.emplace_back(std::move(k), std::move(v));
    if (amp == std::string_view::npos)
      break;
    q.remove_prefix(amp + 1);
  }
  return true;
}

} // namespace

void api::handle(api_request req, respond_fn respond) {
  auto ctx = std::make_shared<context>();
  ctx->req = std::move(req);
  ctx->respond = std::move(respond);
  if (!split_path(ctx->req.path, ctx->segs) || !split_query(ctx->req.query, ctx->params))
    return ctx->reply(error(errc::invalid_argument, "malformed percent-encoding in the URL"));
  if (ctx->segs.empty() || ctx->segs[0] != "v1")
    return ctx->reply(not_found_route(*ctx));
  bool public_route = ctx->segs.size() == 2 && ctx->segs[1] == "health";
  if (!public_route) {
    auto who = authenticate(ctx->req);
    if (!who)
      return ctx->reply(error(who.error()));
    ctx->who = std::move(*who);
  }
  dispatch(std::move(ctx));
}

caf::expected<principal> api::authenticate(const api_request& req) const {
  auto who = auth_.authenticate(req.authorization);
  if (who || !req.authorization.empty())
    return who;
  // Without any Authorization header, the reads of a model whose read policy is public are
  // anonymous: GET /v1/models/M/docs/ID and POST /v1/models/M/query.
  std::vector<std::string> segs;
  if (!split_path(req.path, segs) || segs.size() < 4 || segs[0] != "v1" || segs[1] != "models")
    return who;
  bool get_doc = req.method == "GET" && segs.size() == 5 && segs[3] == "docs";
  bool query = req.method == "POST" && segs.size() == 4 && segs[3] == "query";
  if (!get_doc && !query)
    return who;
  auto def = rt_.find_model(segs[2]);
  if (!def || def->read != read_policy::anyone)
    return who;
  return principal{};
}

api_response not_found_route(const api::context& ctx) {
  return api::error(errc::not_found, "no route " + ctx.req.method + " " + ctx.req.path);
}

void api::dispatch(std::shared_ptr<context> ctx) {
  // Segments: {"v1", group, ...}.
  auto& s = ctx->segs;
  // "/v1/status/" is not "/v1/status": a trailing slash names no route, nor does an empty
  // segment anywhere ("/v1//status"). Checked after the token, as every unknown /v1 route.
  bool empty_segment =
      std::any_of(s.begin(), s.end(), [](const std::string& seg) { return seg.empty(); });
  bool trailing_slash = ctx->req.path.size() > 1 && ctx->req.path.back() == '/';
  if (s.size() < 2 || empty_segment || trailing_slash)
    return ctx->reply(not_found_route(*ctx));
  auto& group = s[1];
  if (group == "models") {
    if (s.size() <= 3)
      return models(ctx);
    if (s.size() == 4 && s[3] == "query")
      return run_query(ctx);
    if ((s.size() == 4 && (s[3] == "docs" || s[3] == "docs:batch")) ||
        (s.size() == 5 && s[3] == "docs"))
      return documents(ctx);
    return ctx->reply(not_found_route(*ctx));
  }
  if (group == "kv")
    return kv_routes(ctx);
  if (group == "auth")
    return token_route(ctx);
  return node_routes(ctx);
}

} // namespace debros::net
