#include "gateway/cancellation.h"

#include <utility>

namespace clientreg::gateway {

void Cancellation::Cancel() {
  std::function<void()> listener;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) return;
    cancelled_ = true;
    listener = std::move(listener_);
  }
  if (listener) listener();
}

bool Cancellation::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_;
}

void Cancellation::OnCancel(std::function<void()> listener) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!cancelled_) {
      listener_ = std::move(listener);
      return;
    }
  }
  if (listener) listener();
}

}  // namespace clientreg::gateway
