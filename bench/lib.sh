# Shell functions the bench scripts share; source it from the repository root.

# Waits until 127.0.0.1:$1 accepts connections (at most 60 s).
wait_for_port() {
  for _ in $(seq 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench: nothing listens on port $1" >&2
  return 1
}

# A loopback port the kernel says is free now (another process may take it first; then a start fails loudly).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
