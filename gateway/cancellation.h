#ifndef CLIENTREG_GATEWAY_CANCELLATION_H_
#define CLIENTREG_GATEWAY_CANCELLATION_H_

#include <functional>
#include <mutex>

namespace clientreg::gateway {

// Tells the work done for one request that its client went away: the connection cancels, the RPC it started
// listens. One-shot and thread-safe.
class Cancellation {
 public:
  // Runs the listener, if any, once; later calls do nothing.
  void Cancel();

  bool cancelled() const;

  // Sets the one listener: it runs on the thread that calls Cancel, or at once on this thread if that already
  // happened. It must be quick and must not call back into this object.
  void OnCancel(std::function<void()> listener);

 private:
  mutable std::mutex mutex_;
  bool cancelled_ = false;
  std::function<void()> listener_;
};

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_CANCELLATION_H_
