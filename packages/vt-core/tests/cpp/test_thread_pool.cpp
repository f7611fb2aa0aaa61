// core/thread_pool.h: coverage, nesting, exceptions, concurrent callers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"

namespace vt {
namespace {

// The pool must split work even on a 2-core machine, so every test asks for 4 threads.
class ThreadPool : public ::testing::Test {
 protected:
  void SetUp() override { set_num_threads(4); }
};

TEST_F(ThreadPool, CoversTheRangeExactlyOnce) {
  const int64_t begin = 7, end = 100007;
  auto hits = std::make_unique<std::atomic<int>[]>(size_t(end));
  std::atomic<int> chunks{0};
  std::mutex mutex;
  std::set<std::thread::id> threads;
  parallel_for(begin, end, 1000, [&](int64_t b, int64_t e) {
    EXPECT_LE(begin, b);
    EXPECT_LT(b, e);
    EXPECT_LE(e, end);
    ++chunks;
    {
      std::lock_guard lock(mutex);
      threads.insert(std::this_thread::get_id());
    }
    for (int64_t i = b; i < e; ++i) hits[size_t(i)].fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // lets the workers wake up
  });
  for (int64_t i = 0; i < end; ++i) ASSERT_EQ(hits[size_t(i)].load(), i >= begin ? 1 : 0) << i;
  EXPECT_EQ(chunks.load(), 4);
  EXPECT_GT(threads.size(), 1u);  // workers took part
}

TEST_F(ThreadPool, SmallAndEmptyRangesRunInline) {
  int calls = 0;
  parallel_for(5, 5, 1, [&](int64_t, int64_t) { ++calls; });
  parallel_for(9, 3, 1, [&](int64_t, int64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
  std::thread::id who;
  parallel_for(0, 100, 1000, [&](int64_t b, int64_t e) {
    ++calls;
    who = std::this_thread::get_id();
    EXPECT_EQ(b, 0);
    EXPECT_EQ(e, 100);
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(who, std::this_thread::get_id());
}

TEST_F(ThreadPool, NestedCallsRunInlineOnTheOuterThread) {
  std::atomic<int64_t> total{0};
  std::atomic<int> mismatches{0};
  parallel_for(0, 8, 1, [&](int64_t b, int64_t e) {
    EXPECT_TRUE(in_parallel_region());
    for (int64_t i = b; i < e; ++i) {
      std::thread::id outer = std::this_thread::get_id();
      int inner_calls = 0;
      parallel_for(0, 10000, 10, [&](int64_t ib, int64_t ie) {
        ++inner_calls;
        if (std::this_thread::get_id() != outer) ++mismatches;
        total += ie - ib;
      });
      EXPECT_EQ(inner_calls, 1);  // the whole inner range in one inline call
    }
  });
  EXPECT_EQ(total.load(), 8 * 10000);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_FALSE(in_parallel_region());
}

TEST_F(ThreadPool, ExceptionsPropagateAndThePoolSurvives) {
  try {
    parallel_for(0, 4000, 1000, [](int64_t b, int64_t) {
      if (b >= 2000) throw Error(VT_ERROR_INDEX, "chunk failed");
    });
    FAIL() << "the exception was swallowed";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), VT_ERROR_INDEX);
    EXPECT_STREQ(e.what(), "chunk failed");
  }
  EXPECT_THROW(parallel_for(0, 4000, 1000, [](int64_t, int64_t) { throw std::runtime_error("x"); }),
               std::runtime_error);
  std::atomic<int64_t> sum{0};
  parallel_for(0, 4000, 1000, [&](int64_t b, int64_t e) { sum += e - b; });
  EXPECT_EQ(sum.load(), 4000);
  EXPECT_FALSE(in_parallel_region());
}

TEST_F(ThreadPool, ConcurrentCallersDoNotDeadlock) {
  constexpr int kCallers = 6, kRounds = 200;
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int r = 0; r < kRounds; ++r) {
        const int64_t n = 5000 + c * 100 + r;
        std::atomic<int64_t> sum{0};
        parallel_for(0, n, 500, [&](int64_t b, int64_t e) {
          int64_t s = 0;
          for (int64_t i = b; i < e; ++i) s += i;
          sum += s;
        });
        if (sum.load() != n * (n - 1) / 2) ++wrong;
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(ThreadPool, ThreadCountSetting) {
  EXPECT_EQ(num_threads(), 4);
  set_num_threads(1);
  EXPECT_EQ(num_threads(), 1);
  int calls = 0;
  parallel_for(0, 100000, 10, [&](int64_t, int64_t) { ++calls; });  // one thread: one call
  EXPECT_EQ(calls, 1);
  EXPECT_THROW(set_num_threads(0), Error);
}

}  // namespace
}  // namespace vt
