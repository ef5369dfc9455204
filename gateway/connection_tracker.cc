#include "gateway/connection_tracker.h"

#include <algorithm>

namespace clientreg::gateway::internal {

ConnectionTracker::ConnectionTracker(std::size_t max_connections)
    : max_connections_(std::max<std::size_t>(max_connections, 1)) {}

uint64_t ConnectionTracker::Add(std::shared_ptr<TrackedConnection> connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t id = next_id_++;
  connections_[id].connection = std::move(connection);
  return id;
}

void ConnectionTracker::Remove(uint64_t id) {
  // Both are released after the lock: the callback posts to the acceptor, and the last reference to a connection
  // runs its destructor.
  std::shared_ptr<TrackedConnection> released;
  std::function<void()> on_room;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    if (it->second.idle) idle_.erase(it->second.idle_position);
    released = std::move(it->second.connection);
    connections_.erase(it);
    if (connections_.size() < max_connections_) {
      // Room came from a close; nobody else has to give way for the connection that waited.
      evict_next_idle_ = false;
      on_room = std::move(on_room_);
      on_room_ = nullptr;
    }
    if (connections_.empty()) empty_.notify_all();
  }
  if (on_room) on_room();
}

bool ConnectionTracker::EnterIdle(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = connections_.find(id);
  if (it == connections_.end()) return false;
  Entry& entry = it->second;
  if (entry.doomed || shutting_down_) {
    entry.doomed = true;
    return false;
  }
  if (evict_next_idle_ && connections_.size() >= max_connections_) {
    evict_next_idle_ = false;
    entry.doomed = true;
    return false;
  }
  if (!entry.idle) {
    entry.idle = true;
    entry.idle_position = idle_.insert(idle_.end(), id);
  }
  return true;
}

bool ConnectionTracker::LeaveIdle(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = connections_.find(id);
  if (it == connections_.end() || it->second.doomed) return false;
  if (it->second.idle) {
    idle_.erase(it->second.idle_position);
    it->second.idle = false;
  }
  return true;
}

bool ConnectionTracker::HasRoom() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return connections_.size() < max_connections_;
}

std::shared_ptr<TrackedConnection> ConnectionTracker::MakeRoom() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (connections_.size() < max_connections_) return nullptr;
  if (idle_.empty()) {
    evict_next_idle_ = true;
    return nullptr;
  }
  Entry& entry = connections_[idle_.front()];
  idle_.pop_front();
  entry.idle = false;
  entry.doomed = true;
  return entry.connection;
}

void ConnectionTracker::NotifyWhenRoom(std::function<void()> on_room) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (connections_.size() >= max_connections_) {
      on_room_ = std::move(on_room);
      return;
    }
  }
  on_room();
}

std::vector<std::shared_ptr<TrackedConnection>> ConnectionTracker::BeginShutdown() {
  std::vector<std::shared_ptr<TrackedConnection>> idle;
  std::function<void()> on_room;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shutting_down_ = true;
    on_room = std::move(on_room_);
    on_room_ = nullptr;
    for (uint64_t id : idle_) {
      Entry& entry = connections_[id];
      entry.idle = false;
      entry.doomed = true;
      idle.push_back(entry.connection);
    }
    idle_.clear();
  }
  return idle;
}

bool ConnectionTracker::ShuttingDown() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return shutting_down_;
}

std::vector<std::shared_ptr<TrackedConnection>> ConnectionTracker::All() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<TrackedConnection>> all;
  all.reserve(connections_.size());
  for (const auto& [id, entry] : connections_) all.push_back(entry.connection);
  return all;
}

bool ConnectionTracker::WaitUntilEmpty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  return empty_.wait_until(lock, deadline, [this] { return connections_.empty(); });
}

void ConnectionTracker::ReleaseAll() {
  std::unordered_map<uint64_t, Entry> released;
  std::function<void()> on_room;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    released.swap(connections_);
    idle_.clear();
    on_room = std::move(on_room_);
    on_room_ = nullptr;
    empty_.notify_all();
  }
}

void ConnectionTracker::ClosePostGate() {
  std::lock_guard<std::mutex> lock(gate_mutex_);
  gate_open_ = false;
}

}  // namespace clientreg::gateway::internal
