#include "core/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

#include "core/error.h"

namespace vt {
namespace {

thread_local bool t_in_parallel = false;

int default_threads() {
  if (const char* env = std::getenv("VT_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
#if defined(__linux__)
  // The CPUs this process may run on (taskset, container limits), not all the machine has:
  // more workers than that only oversubscribe them.
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) return std::max(1, CPU_COUNT(&allowed));
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

// A parallel job; shared with the workers so a late worker never touches a finished caller's
// stack.
struct Job {
  const std::function<void(int64_t, int64_t)>* fn;
  int64_t begin, end, chunk;
  int nchunks;
  std::atomic<int> next{0};
  std::atomic<int64_t> pending;
  std::mutex error_mutex;
  std::exception_ptr error;

  // Runs chunks until none are left; the caller and every worker do this.
  void work() {
    bool was = t_in_parallel;
    t_in_parallel = true;
    for (int c = next.fetch_add(1); c < nchunks; c = next.fetch_add(1)) {
      int64_t b = begin + c * chunk, e = std::min(end, b + chunk);
      try {
        (*fn)(b, e);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
      }
      if (pending.fetch_sub(1) == 1) pending.notify_all();
    }
    t_in_parallel = was;
  }
};

// One job at a time; a second concurrent caller runs its work inline instead of queueing.
class Pool {
 public:
  Pool() : limit_(default_threads()) {}

  int limit() const { return limit_.load(); }
  void set_limit(int n) { limit_.store(n); }

  bool try_run(int64_t begin, int64_t end, int64_t chunk, int nchunks,
               const std::function<void(int64_t, int64_t)>& fn) {
    bool expected = false;
    if (!busy_.compare_exchange_strong(expected, true)) return false;
    auto job = std::make_shared<Job>();
    job->fn = &fn;
    job->begin = begin;
    job->end = end;
    job->chunk = chunk;
    job->nchunks = nchunks;
    job->pending.store(nchunks);
    {
      std::lock_guard lock(mutex_);
      while (int(workers_.size()) < nchunks - 1) workers_.emplace_back([this] { worker_loop(); });
      job_ = job;
      ++generation_;
    }
    wake_.notify_all();
    job->work();
    // Every chunk is done before the caller returns: fn lives on its stack.
    for (int64_t p = job->pending.load(); p != 0; p = job->pending.load()) job->pending.wait(p);
    {
      std::lock_guard lock(mutex_);
      job_.reset();
    }
    busy_.store(false);
    if (job->error) std::rethrow_exception(job->error);
    return true;
  }

 private:
  void worker_loop() {
    t_in_parallel = true;
    uint64_t seen = 0;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        job = job_;
      }
      if (job) job->work();
    }
  }

  std::atomic<int> limit_;
  std::atomic<bool> busy_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::thread> workers_;  // detached at exit: the pool is never destroyed
  uint64_t generation_ = 0;
  std::shared_ptr<Job> job_;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers may outlive static teardown order
  return *p;
}

}  // namespace

void parallel_for(int64_t begin, int64_t end, int64_t grain_size,
                  const std::function<void(int64_t, int64_t)>& fn) {
  int64_t range = end - begin;
  if (range <= 0) return;
  grain_size = std::max<int64_t>(grain_size, 1);
  int threads = pool().limit();
  if (range <= grain_size || threads <= 1 || t_in_parallel) return fn(begin, end);
  // Every chunk gets at least grain_size elements.
  int nchunks = int(std::min<int64_t>(threads, range / grain_size));
  int64_t chunk = (range + nchunks - 1) / nchunks;
  if (!pool().try_run(begin, end, chunk, nchunks, fn)) fn(begin, end);
}

int num_threads() { return pool().limit(); }

void set_num_threads(int n) {
  VT_CHECK_VALUE(n >= 1, "set_num_threads: expected a positive number of threads, got ", n);
  pool().set_limit(n);
}

bool in_parallel_region() { return t_in_parallel; }

}  // namespace vt
