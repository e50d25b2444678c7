// The supervision settings of a config: restart, health, breaker, start and idle stop per
// server, `lifecycle:` defaults, and the `faults:` of failure drills.
#include "supervision_reader.hpp"

#include <charconv>

#include "manifold/config/units.hpp"

namespace manifold::config::detail {

namespace {

// A duration that may be 0 ("0", "off", "never"): nullopt on error.
std::optional<std::chrono::milliseconds> duration_or_zero(yaml_context& ctx, const YAML::Node& node,
                                                          const std::string& path) {
  if (node.IsScalar() &&
      (node.Scalar() == "0" || node.Scalar() == "off" || node.Scalar() == "never")) {
    return std::chrono::milliseconds(0);
  }
  return ctx.duration_value(node, path);
}

std::optional<double> ratio(yaml_context& ctx, const YAML::Node& node, const std::string& path) {
  const auto text = ctx.string_value(node, path);
  if (!text) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || end != text->data() + text->size() || !(v >= 0.0 && v <= 1.0)) {
    ctx.fail(node, path, "expected a ratio from 0 to 1, such as 0.2");
    return std::nullopt;
  }
  return v;
}

// `key: false` turns a section off; true keeps the defaults; a map sets fields.
// Returns true when the map is to be read.
bool switch_or_map(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                   bool& enabled) {
  if (node.IsScalar()) {
    if (const auto on = ctx.bool_value(node, path)) enabled = *on;
    return false;
  }
  enabled = true;
  return ctx.expect_map(node, path);
}

void read_restart(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                  restart_config& out) {
  if (!switch_or_map(ctx, node, path, out.enabled)) return;
  ctx.for_each_key(node, path, {"backoff", "max_backoff", "jitter", "max_restarts", "reset_after"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "jitter") {
                       if (auto v = ratio(ctx, value, child)) out.jitter = *v;
                     } else if (k == "max_restarts") {
                       if (auto n = ctx.int_value(value, child, 0, 1'000'000))
                         out.max_restarts = static_cast<std::size_t>(*n);
                     } else if (auto d = ctx.duration_value(value, child)) {
                       (k == "backoff"       ? out.backoff
                        : k == "max_backoff" ? out.max_backoff
                                             : out.reset_after) = *d;
                     }
                   });
  if (out.max_backoff < out.backoff) {
    ctx.fail(node, path + ".max_backoff", "max_backoff must be at least backoff");
  }
}

void read_health(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                 health_config& out) {
  if (!switch_or_map(ctx, node, path, out.enabled)) return;
  ctx.for_each_key(node, path, {"interval", "timeout", "failures"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "failures") {
                       if (auto n = ctx.int_value(value, child, 1, 1000))
                         out.failures = static_cast<std::size_t>(*n);
                     } else if (auto d = ctx.duration_value(value, child)) {
                       (k == "interval" ? out.interval : out.timeout) = *d;
                     }
                   });
}

void read_breaker(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                  breaker_config& out) {
  if (!switch_or_map(ctx, node, path, out.enabled)) return;
  ctx.for_each_key(node, path, {"failures", "cooldown"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "failures") {
                       if (auto n = ctx.int_value(value, child, 1, 1'000'000))
                         out.failures = static_cast<std::size_t>(*n);
                     } else if (auto d = ctx.duration_value(value, child)) {
                       out.cooldown = *d;
                     }
                   });
}

std::optional<down_mode> read_on_down(yaml_context& ctx, const YAML::Node& node,
                                      const std::string& path) {
  const auto v = ctx.string_value(node, path);
  if (!v) return std::nullopt;
  if (*v == "hide") return down_mode::hide;
  if (*v == "error") return down_mode::error;
  ctx.fail(node, path,
           "on_down must be `hide` (withdraw its tools while it is down) or `error` (keep them, "
           "answer \"temporarily unavailable\")");
  return std::nullopt;
}

std::optional<fault_action> action_named(std::string_view name) {
  if (name == "delay") return fault_action::delay;
  if (name == "error") return fault_action::error;
  if (name == "is_error") return fault_action::is_error;
  if (name == "drop") return fault_action::drop;
  if (name == "crash") return fault_action::crash;
  if (name == "garbage") return fault_action::garbage;
  if (name == "stall") return fault_action::stall;
  return std::nullopt;
}

void read_fault(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                fault_rule& out) {
  bool has_action = false;
  ctx.for_each_key(
      node, path,
      {"server", "tool", "action", "probability", "every", "delay", "duration", "code", "message"},
      [&](const std::string& k, const YAML::Node& value, const std::string& child) {
        if (k == "probability") {
          if (auto v = ratio(ctx, value, child)) out.probability = *v;
        } else if (k == "every") {
          if (auto n = ctx.int_value(value, child, 1, 1'000'000'000))
            out.every = static_cast<std::size_t>(*n);
        } else if (k == "delay" || k == "duration") {
          if (auto d = ctx.duration_value(value, child)) out.delay = *d;
        } else if (k == "code") {
          if (auto n = ctx.int_value(value, child, -2'147'483'647, 2'147'483'647))
            out.code = static_cast<int>(*n);
        } else if (auto v = ctx.string_value(value, child)) {
          if (k == "server") {
            out.server = std::move(*v);
          } else if (k == "tool") {
            out.tool = std::move(*v);
          } else if (k == "message") {
            out.message = std::move(*v);
          } else if (auto a = action_named(*v)) {
            out.action = *a;
            has_action = true;
          } else {
            ctx.fail(value, child,
                     "action must be delay, error, is_error, drop, crash, garbage or stall");
            has_action = true;
          }
        }
      });
  if (!has_action)
    ctx.fail(node, path,
             "a fault needs an `action` (delay, error, is_error, drop, crash, garbage, stall)");
  if (out.every == 0 && out.probability == 0 && node["probability"].IsDefined() == false) {
    ctx.fail(node, path,
             "a fault needs `every: N` (every Nth matching call) or `probability: P` (0..1)");
  }
  if (out.every != 0 && node["probability"].IsDefined()) {
    ctx.fail(node, path, "give `every` or `probability`, not both");
  }
  if ((out.action == fault_action::delay || out.action == fault_action::stall) &&
      out.delay.count() == 0) {
    ctx.fail(node, path, "a delay or stall fault needs `delay: DURATION`");
  }
}

}  // namespace

void read_server_supervision(yaml_context& ctx, const std::string& key, const YAML::Node& node,
                             const std::string& path, supervision_config& out) {
  if (key == "start") {
    const auto v = ctx.string_value(node, path);
    if (!v) return;
    if (*v == "eager" || *v == "lazy") {
      out.start = *v == "lazy" ? start_mode::lazy : start_mode::eager;
    } else {
      ctx.fail(node, path,
               "start must be `eager` (with manifold) or `lazy` (at the first call that needs it)");
    }
  } else if (key == "idle_timeout") {
    if (auto d = duration_or_zero(ctx, node, path)) out.idle_timeout = *d;
  } else if (key == "on_down") {
    if (auto mode = read_on_down(ctx, node, path)) {
      out.on_down = *mode;
      out.on_down_set = true;
    }
  } else if (key == "restart") {
    read_restart(ctx, node, path, out.restart);
    out.restart_set = true;
  } else if (key == "health") {
    read_health(ctx, node, path, out.health);
    out.health_set = true;
  } else {
    read_breaker(ctx, node, path, out.breaker);
    out.breaker_set = true;
  }
}

void read_lifecycle(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                    lifecycle_config& out) {
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(node, path,
                   {"initialize_grace", "drain_timeout", "on_down", "restart", "health", "breaker"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "initialize_grace") {
                       if (auto d = duration_or_zero(ctx, value, child)) out.initialize_grace = *d;
                     } else if (k == "drain_timeout") {
                       if (auto d = ctx.duration_value(value, child)) out.drain_timeout = *d;
                     } else if (k == "on_down") {
                       if (auto mode = read_on_down(ctx, value, child)) {
                         out.on_down = *mode;
                         out.on_down_set = true;
                       }
                     } else if (k == "restart") {
                       read_restart(ctx, value, child, out.restart);
                     } else if (k == "health") {
                       read_health(ctx, value, child, out.health);
                     } else {
                       read_breaker(ctx, value, child, out.breaker);
                     }
                   });
}

void read_faults(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                 std::vector<fault_rule>& out) {
  if (node.IsNull()) return;
  if (!node.IsSequence()) {
    ctx.fail(node, path, "faults is a list of {server, tool, action, every | probability, ...}");
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto child = path + "[" + std::to_string(i) + "]";
    if (!ctx.expect_map(node[i], child)) continue;
    fault_rule rule;
    rule.position = ctx.position(node[i]);
    read_fault(ctx, node[i], child, rule);
    out.push_back(std::move(rule));
  }
}

void apply_lifecycle_defaults(config& cfg) {
  for (auto& s : cfg.servers) {
    auto& sup = s.supervision;
    if (!sup.restart_set) sup.restart = cfg.lifecycle.restart;
    if (!sup.health_set) sup.health = cfg.lifecycle.health;
    if (!sup.breaker_set) sup.breaker = cfg.lifecycle.breaker;
    if (!sup.on_down_set) {
      // A network upstream keeps its catalog while it reconnects; a process that crashed
      // has its tools withdrawn until it is back.
      sup.on_down = cfg.lifecycle.on_down_set ? cfg.lifecycle.on_down
                    : s.url.empty()           ? down_mode::hide
                                              : down_mode::error;
    }
  }
}

}  // namespace manifold::config::detail
