#ifndef CLIENTREG_GATEWAY_CONNECTION_TRACKER_H_
#define CLIENTREG_GATEWAY_CONNECTION_TRACKER_H_

// Internal to the gateway's HTTP server: which connections are open and idle, the connection cap, and shutdown.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace clientreg::gateway::internal {

// A connection as the tracker sees it.
class TrackedConnection {
 public:
  virtual ~TrackedConnection() = default;
  // Closes the connection soon, from any thread; idempotent. The connection then calls ConnectionTracker::Remove.
  virtual void Close() = 0;
};

// The bookkeeping shared by the server and its connections: which connections are open (it owns them until they
// close), which are idle and since when, the connection cap, and shutdown. Thread-safe.
//
// "Idle" means waiting for the first byte of a next request, or draining input after a final response
// (a lingering close): a connection that loses nothing but an open socket if it is closed.
class ConnectionTracker {
 public:
  explicit ConnectionTracker(std::size_t max_connections);

  ConnectionTracker(const ConnectionTracker&) = delete;
  ConnectionTracker& operator=(const ConnectionTracker&) = delete;

  // Registers a newly accepted connection and returns its id; the tracker holds it until Remove(id).
  uint64_t Add(std::shared_ptr<TrackedConnection> connection);
  // Forgets a closed connection; unknown ids are ignored. May run the callback given to NotifyWhenRoom.
  void Remove(uint64_t id);

  // The connection starts waiting for its next request (or lingers). Returns false if it must close instead: the
  // server is shutting down, or a new connection waits for room and this one is the idle connection to give way.
  [[nodiscard]] bool EnterIdle(uint64_t id);
  // The connection got bytes of a request. Returns false if it was already chosen to close while idle: it must close
  // (the choice is final, so the acceptor can count on the room).
  [[nodiscard]] bool LeaveIdle(uint64_t id);

  // True while fewer than max_connections are open.
  bool HasRoom() const;
  // A connection waits in the backlog and the server is full: returns the oldest idle connection, marked to close
  // (the caller closes it), or null if none is idle, in which case the next connection to become idle gives way.
  std::shared_ptr<TrackedConnection> MakeRoom();
  // Calls `on_room` once, from the thread that frees a slot, or right now if there is room. Replaces an earlier one.
  void NotifyWhenRoom(std::function<void()> on_room);

  // Starts shutdown: from now on EnterIdle returns false. Returns the idle connections, marked to close.
  std::vector<std::shared_ptr<TrackedConnection>> BeginShutdown();
  bool ShuttingDown() const;
  // Every open connection, for a forced close.
  std::vector<std::shared_ptr<TrackedConnection>> All() const;
  // Waits until no connection is open or `deadline` passes; true if none is open.
  bool WaitUntilEmpty(std::chrono::steady_clock::time_point deadline);
  // Drops the tracker's references to every connection, after the server's threads have stopped.
  void ReleaseAll();

  // Runs `fn` under the post gate if the server still runs its io_context, and returns whether it ran. A `done`
  // callback posts to its connection's strand inside `fn`, so the post cannot race with the destruction of the
  // io_context: the server calls ClosePostGate first.
  template <typename Fn>
  bool IfRunning(Fn&& fn) {
    std::lock_guard<std::mutex> lock(gate_mutex_);
    if (!gate_open_) return false;
    std::forward<Fn>(fn)();
    return true;
  }
  void ClosePostGate();

 private:
  struct Entry {
    std::shared_ptr<TrackedConnection> connection;
    bool idle = false;
    bool doomed = false;  // chosen to close; LeaveIdle answers false
    std::list<uint64_t>::iterator idle_position;
  };

  const std::size_t max_connections_;
  mutable std::mutex mutex_;
  std::condition_variable empty_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Entry> connections_;
  std::list<uint64_t> idle_;  // oldest first
  bool shutting_down_ = false;
  bool evict_next_idle_ = false;
  std::function<void()> on_room_;

  std::mutex gate_mutex_;  // separate from mutex_: a post never runs while the tracker's state is locked
  bool gate_open_ = true;
};

}  // namespace clientreg::gateway::internal

#endif  // CLIENTREG_GATEWAY_CONNECTION_TRACKER_H_
