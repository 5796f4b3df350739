// WebSocket sessions of the gateway (see websocket.hpp).
#include <deque>

#include "messages/assert.hpp"
#include "net/gateway_session.hpp"

namespace debros::net::detail {

namespace {

namespace websocket = beast::websocket;

// Messages queued for a slow reader before its connection is dropped.
constexpr size_t queued_frames_max = 4096;

asio::ip::address remote_address(beast::tcp_stream& stream) {
  beast::error_code ec;
  return stream.socket().remote_endpoint(ec).address();
}

template <class Stream>
class ws_session : public std::enable_shared_from_this<ws_session<Stream>> {
public:
  ws_session(Stream&& stream, request req, std::shared_ptr<ws_handler> handler,
             std::shared_ptr<server_state> st)
      : ws_(std::move(stream)), req_(std::move(req)), handler_(std::move(handler)),
        st_(std::move(st)), slot_(st_, remote_address(beast::get_lowest_layer(ws_))) {}

  void run() {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(st_->opts.body_bytes_max);
    auto self = this->shared_from_this();
    ws_.async_accept(req_, [self](beast::error_code ec) {
      if (ec)
        return;
      std::weak_ptr<ws_session> weak = self;
      self->registered_ = self->st_->websockets.add([weak](uint64_t) {
        if (auto s = weak.lock())
          asio::post(s->ws_.get_executor(),
                     [s] { s->close_now(websocket::close_code::going_away); });
      });
      self->handler_->on_open(std::make_shared<channel>(self));
      self->read();
      if (self->st_->stopping.load()) // accepted after the stop took the list
        self->close_now(websocket::close_code::going_away);
    });
  }

private:
  class channel : public ws_channel {
  public:
    explicit channel(std::shared_ptr<ws_session> s) : session_(s) {}
    void send(std::string text) override {
      if (auto s = session_.lock())
        asio::post(s->ws_.get_executor(),
                   [s, text = std::move(text)]() mutable { s->enqueue(std::move(text)); });
    }
    void close() override {
      if (auto s = session_.lock())
        asio::post(s->ws_.get_executor(), [s] { s->close_now(); });
    }

  private:
    std::weak_ptr<ws_session> session_;
  };

  void read() {
    auto self = this->shared_from_this();
    ws_.async_read(in_, [self](beast::error_code ec, size_t n) {
      if (ec)
        return self->finish();
      self->handler_->on_text(beast::buffers_to_string(self->in_.data()));
      self->in_.consume(n);
      self->read();
    });
  }

  void enqueue(std::string text) {
    if (closed_)
      return;
    if (out_.size() >= queued_frames_max)
      return close_now(); // the reader cannot keep up: drop it rather than grow without bound
    out_.push_back(std::move(text));
    if (out_.size() == 1)
      write_next();
  }

  void write_next() {
    // One write in flight, of the frame at the front: enqueue starts it when the queue was
    // empty, the completion of the previous write when more wait.
    DEBROS_ASSERT(!out_.empty());
    ws_.text(true);
    auto self = this->shared_from_this();
    ws_.async_write(asio::buffer(out_.front()), [self](beast::error_code ec, size_t) {
      if (ec)
        return self->finish();
      DEBROS_ASSERT(!self->out_.empty()); // the frame just written is still queued
      self->out_.pop_front();
      if (!self->out_.empty())
        self->write_next();
    });
  }

  void close_now(websocket::close_code code = websocket::close_code::normal) {
    if (closed_)
      return;
    closed_ = true;
    ws_.async_close(code, [self = this->shared_from_this()](beast::error_code) { self->finish(); });
  }

  void finish() {
    if (finished_)
      return;
    finished_ = true;
    closed_ = true;
    if (registered_ != 0)
      st_->websockets.withdraw(registered_);
    handler_->on_close();
  }

  websocket::stream<Stream> ws_;
  request req_;
  std::shared_ptr<ws_handler> handler_;
  std::shared_ptr<server_state> st_;
  connection_slot slot_;
  beast::flat_buffer in_;
  std::deque<std::string> out_;
  bool closed_ = false;
  bool finished_ = false;
  /// The number of its registration for the gateway's stop (server_state::websockets), or 0.
  uint64_t registered_ = 0;
};

} // namespace

void run_websocket(beast::tcp_stream stream, request req, std::shared_ptr<ws_handler> handler,
                   std::shared_ptr<server_state> st) {
  std::make_shared<ws_session<beast::tcp_stream>>(std::move(stream), std::move(req),
                                                  std::move(handler), std::move(st))
      ->run();
}

void run_websocket(beast::ssl_stream<beast::tcp_stream> stream, request req,
                   std::shared_ptr<ws_handler> handler, std::shared_ptr<server_state> st) {
  std::make_shared<ws_session<beast::ssl_stream<beast::tcp_stream>>>(
      std::move(stream), std::move(req), std::move(handler), std::move(st))
      ->run();
}

} // namespace debros::net::detail
