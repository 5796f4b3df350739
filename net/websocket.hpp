// WebSocket endpoints of the gateway: a factory per path prefix decides, from the upgrade
// request and who sent it, whether to accept (returning a handler) or refuse (returning an
// error, answered as an HTTP error response without upgrading). The gateway authenticates the
// upgrade first, as the api does every request (api::authenticate): a request without valid
// credentials gets 401 and never reaches the factory. Pub/sub topics plug in here.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "caf/expected.hpp"

#include "net/api.hpp"

namespace debros::net {

/// The server side of one accepted WebSocket connection. Thread-safe: send and close may be
/// called from any thread; messages go out in the order they were sent.
class ws_channel {
public:
  virtual ~ws_channel() = default;
  /// Queues one text frame. Ignored once the connection closed.
  virtual void send(std::string text) = 0;
  /// Starts a normal close.
  virtual void close() = 0;
};

/// Receives the events of one connection, on the gateway's threads; must not block.
class ws_handler {
public:
  virtual ~ws_handler() = default;
  virtual void on_open(std::shared_ptr<ws_channel> channel) {}
  virtual void on_text(std::string text) {}
  virtual void on_close() {}
};

/// Called on a gateway thread with the upgrade request and its authenticated sender; must not
/// block.
using ws_factory =
    std::function<caf::expected<std::shared_ptr<ws_handler>>(const api_request&, const principal&)>;

} // namespace debros::net
