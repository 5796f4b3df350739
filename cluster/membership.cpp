#include "cluster/membership.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "caf/actor_system.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/openssl/publish.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "actors/runtime.hpp"
#include "messages/assert.hpp"
#include "messages/errc.hpp"

namespace debros::net {

namespace {

using hello_atom = caf::atom_constant<caf::atom("hello")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;

/// The actor every node publishes on its cluster port. Every type here is registered with CAF
/// (a remote typed handle must match the published interface). A hello carries the greeter's
/// own member actor, which the greeted node monitors (not the short-lived actor that sent it).
using member_actor =
    caf::typed_actor<caf::replies_to<hello_atom, node_info, caf::strong_actor_ptr>::with<node_info>,
                     caf::reacts_to<watch_atom, node_info, caf::strong_actor_ptr>>;

using clock_type = std::chrono::steady_clock;

struct peer {
  std::string address;
  bool up = false;
  clock_type::time_point down_since;
};

// The peers every part of the cluster component updates, read by peers().
struct peer_table {
  mutable std::mutex mtx;
  std::map<std::string, peer> by_id;
  std::chrono::milliseconds forget{600000};
  // This node, as it introduces itself (its cluster address is known once the port is bound).
  node_info self;

  node_info me() const {
    std::lock_guard<std::mutex> guard{mtx};
    return self;
  }

  void set(const node_info& info, bool up) {
    std::lock_guard<std::mutex> guard{mtx};
    auto& p = by_id[info.id];
    p.address = info.cluster;
    p.up = up;
  }

  void set_down(const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx};
    if (auto i = by_id.find(id); i != by_id.end()) {
      i->second.up = false;
      i->second.down_since = clock_type::now();
    }
  }

  // Drops the peers down for `forget` or longer. The caller holds `mtx`.
  void forget_locked(clock_type::time_point now) {
    for (auto i = by_id.begin(); i != by_id.end();) {
      if (!i->second.up && now - i->second.down_since >= forget)
        i = by_id.erase(i);
      else
        ++i;
    }
  }

  void forget_down() {
    std::lock_guard<std::mutex> guard{mtx};
    forget_locked(clock_type::now());
  }

  bool is_up(const std::string& id) const {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = by_id.find(id);
    return i != by_id.end() && i->second.up;
  }
};

struct member_state {
  std::map<caf::actor_addr, std::string> watched; // remote member -> node id
  static inline const char* name = "debros.member";
};

member_actor::behavior_type member_main(member_actor::stateful_pointer<member_state> self,
                                        std::shared_ptr<peer_table> peers) {
  DEBROS_ASSERT(peers != nullptr); // shared with the node's cluster object, which outlives us
  self->set_down_handler([self, peers](const caf::down_msg& dm) {
    auto i = self->state.watched.find(dm.source);
    if (i == self->state.watched.end())
      return;
    peers->set_down(i->second);
    self->state.watched.erase(i);
  });
  auto watch = [self, peers](const node_info& info, const caf::strong_actor_ptr& who) {
    peers->set(info, true);
    auto addr = caf::actor_cast<caf::actor_addr>(who);
    if (self->state.watched.count(addr) > 0)
      return;
    self->state.watched.emplace(addr, info.id);
    self->monitor(who);
  };
  return {
      [peers, watch](hello_atom, const node_info& them, const caf::strong_actor_ptr& member) {
        auto me = peers->me();
        if (them.id != me.id && member)
          watch(them, member);
        return me;
      },
      [watch](watch_atom, const node_info& them, const caf::strong_actor_ptr& who) {
        watch(them, who);
      },
  };
}

} // namespace

struct cluster::impl {
  runtime& rt;
  cluster_options opts;
  std::shared_ptr<peer_table> peers = std::make_shared<peer_table>();
  member_actor member;
  endpoint bound;
  std::thread seeder;
  std::mutex mtx;
  std::condition_variable cv;
  bool stopping = false;
  std::map<std::string, std::string> seed_ids; // seed address -> node id last met there

  impl(runtime& r, cluster_options o) : rt(r), opts(std::move(o)) {}

  // caf::openssl::remote_actor waits without a limit: a seed that accepts the connection and
  // never completes the handshake would stop the seeder (and shutdown, which joins it). Asking
  // the openssl middleman directly bounds the wait. A later attempt for the same address joins
  // the pending one in CAF, so a silent seed holds at most one connection.
  caf::expected<member_actor> connect(const endpoint& seed) {
    auto& sys = rt.system();
    caf::expected<member_actor> out{
        make_error(errc::timeout, "no handshake with " + to_string(seed) + " within 5 s")};
    caf::scoped_actor self{sys};
    self->request(sys.openssl_manager().actor_handle(), std::chrono::seconds(5),
                  caf::connect_atom::value, seed.host, seed.port)
        .receive(
            [&](caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>& ifs) {
              if (!ptr)
                out = make_error(errc::unavailable, "nothing published at " + to_string(seed));
              else if (!sys.assignable<member_actor>(ifs))
                out = make_error(errc::unavailable, to_string(seed) + " is not a Debros node");
              else
                out = caf::actor_cast<member_actor>(std::move(ptr));
            },
            [&](caf::error& err) {
              if (err != caf::sec::request_timeout)
                out = std::move(err);
            });
    return out;
  }

  // Greets one seed; returns the node it met.
  caf::expected<node_info> greet(const endpoint& seed) {
    auto remote = connect(seed);
    if (!remote)
      return remote.error();
    caf::expected<node_info> out{make_error(errc::timeout, "no answer from " + to_string(seed))};
    {
      caf::scoped_actor self{rt.system()};
      self->request(*remote, std::chrono::seconds(5), hello_atom::value, opts.self,
                    caf::actor_cast<caf::strong_actor_ptr>(member))
          .receive([&](node_info& info) { out = std::move(info); },
                   [&](caf::error& err) { out = std::move(err); });
    }
    if (out && out->id != opts.self.id)
      caf::anon_send(member, watch_atom::value, *out,
                     caf::actor_cast<caf::strong_actor_ptr>(*remote));
    return out;
  }

  void seed_loop() {
    std::unique_lock<std::mutex> guard{mtx};
    while (!stopping) {
      guard.unlock();
      peers->forget_down();
      for (auto& seed : opts.seeds) {
        auto key = to_string(seed);
        auto known = seed_ids.find(key);
        if (known != seed_ids.end() &&
            (known->second == opts.self.id || peers->is_up(known->second)))
          continue;
        if (auto met = greet(seed))
          seed_ids[key] = met->id;
      }
      guard.lock();
      cv.wait_for(guard, opts.retry, [&] { return stopping; });
    }
  }
};

caf::expected<std::unique_ptr<cluster>> cluster::start(runtime& rt, cluster_options opts) {
  // A plaintext BASP port lets anyone register as a peer, and its first header makes the node
  // allocate the payload length it claims (up to 4 GiB) before any handshake.
  if (rt.options().cluster_cert.empty())
    return make_error(errc::invalid_argument,
                      "the cluster port needs a cluster credential (it speaks only mutual TLS)");
  auto p = std::make_unique<impl>(rt, std::move(opts));
  auto& sys = rt.system();
  p->peers->self = p->opts.self;
  p->peers->forget = p->opts.peer_forget;
  p->member = sys.spawn(member_main, p->peers);
  auto& where = p->opts.listen;
  auto port = caf::openssl::publish(p->member, where.port, where.host.c_str(), true);
  if (!port) {
    caf::anon_send_exit(p->member, caf::exit_reason::user_shutdown);
    return make_error(errc::io_error, "cannot open the cluster port " + to_string(where) + ": " +
                                          sys.render(port.error()));
  }
  p->bound = endpoint{where.host, *port};
  p->opts.self.cluster = to_string(p->bound);
  {
    std::lock_guard<std::mutex> guard{p->peers->mtx};
    p->peers->self.cluster = p->opts.self.cluster;
  }
  auto* raw = p.get();
  p->seeder = std::thread{[raw] { raw->seed_loop(); }};
  return std::unique_ptr<cluster>{new cluster(std::move(p))};
}

cluster::cluster(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

cluster::~cluster() {
  stop();
}

endpoint cluster::local() const {
  return impl_->bound;
}

value cluster::peers() const {
  array out;
  std::lock_guard<std::mutex> guard{impl_->peers->mtx};
  impl_->peers->forget_locked(clock_type::now());
  for (auto& [id, p] : impl_->peers->by_id)
    out.emplace_back(object{{"node", id}, {"address", p.address}, {"up", p.up}});
  return value{std::move(out)};
}

void cluster::stop() {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    if (impl_->stopping)
      return;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->seeder.joinable())
    impl_->seeder.join();
  auto& sys = impl_->rt.system();
  sys.middleman().unpublish(impl_->member, impl_->bound.port);
  caf::anon_send_exit(impl_->member, caf::exit_reason::user_shutdown);
}

} // namespace debros::net
