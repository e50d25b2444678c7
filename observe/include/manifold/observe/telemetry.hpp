#pragma once

#include <functional>

#include "manifold/observe/metrics.hpp"
#include "manifold/observe/recent_calls.hpp"
#include "manifold/observe/span.hpp"
#include "manifold/observe/status_feed.hpp"
#include "manifold/observe/tap.hpp"

// What the code on the data path records into, as one bundle of non-owning pointers; a null
// member is that part turned off (and costs nothing but the null check). The composition
// root (gateway::observability) owns the parts and outlives everything that holds this.
// Thread: the io thread.
namespace manifold::observe {

struct telemetry {
  observe::metrics* metrics = nullptr;       // metrics: enabled
  const observe::tracer* tracer = nullptr;   // tracing: otlp_endpoint set
  observe::tap* tap = nullptr;               // tap endpoint or trace file (check tap->active())
  observe::recent_calls* calls = nullptr;    // the status page's recent calls
  observe::status_feed* feed = nullptr;      // the status page's live events
  // Something the page's status shows changed (an upstream's state): tell open pages now.
  std::function<void()> status_changed{};

  // A finished call for the status page: kept among the recent calls, and sent to open pages.
  void call_finished(call_record call) const {
    if (feed != nullptr && feed->has_subscribers()) feed->publish("call", to_json(call).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (calls != nullptr) calls->add(std::move(call));
  }
};

}  // namespace manifold::observe
