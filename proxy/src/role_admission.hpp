#pragma once

// Private to proxy/: a principal's roles as one rule of a view.

#include <memory>

#include "manifold/access/role_view.hpp"
#include "manifold/namespace/view.hpp"

namespace manifold::proxy {

class role_admission final : public ns::admission {
 public:
  explicit role_admission(std::shared_ptr<const access::role_view> roles) : roles_(std::move(roles)) {}

  [[nodiscard]] bool admits(ns::entry_kind kind, std::string_view exposed) const override {
    switch (kind) {
      case ns::entry_kind::tool:
        return roles_->admits(access::entry_kind::tool, exposed);
      case ns::entry_kind::prompt:
        return roles_->admits(access::entry_kind::prompt, exposed);
      case ns::entry_kind::resource:
      case ns::entry_kind::resource_template:
        return roles_->admits(access::entry_kind::resource, exposed);
    }
    return false;
  }

 private:
  std::shared_ptr<const access::role_view> roles_;
};

}  // namespace manifold::proxy
