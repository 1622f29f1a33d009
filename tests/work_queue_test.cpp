#include "pconv/serve/work_queue.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "test_util.h"

namespace pconv {
namespace {
using namespace std::chrono_literals;
using Admission = WorkQueue::Admission;

std::chrono::steady_clock::time_point in(std::chrono::milliseconds ms) { return std::chrono::steady_clock::now() + ms; }

void wait_for_waiting(const WorkQueue& q, int n) {
  while (q.waiting() != n) std::this_thread::sleep_for(1ms);
}

TEST(WorkQueue, AdmitsUpToTheLimitThenQueuesThenRefuses) {
  WorkQueue q(2, 1);
  EXPECT_EQ(q.enter(in(0ms)), Admission::kAdmitted);
  EXPECT_EQ(q.enter(in(0ms)), Admission::kAdmitted);
  EXPECT_EQ(q.running(), 2);
  auto waiter = std::async(std::launch::async, [&] { return q.enter(in(10s)); });
  wait_for_waiting(q, 1);
  EXPECT_EQ(q.enter(in(10s)), Admission::kFull) << "the line is full: refused at once";
  q.leave();
  EXPECT_EQ(waiter.get(), Admission::kAdmitted);
  EXPECT_EQ(q.running(), 2);
  EXPECT_EQ(q.waiting(), 0);
}

TEST(WorkQueue, ServesTheLineInArrivalOrder) {
  WorkQueue q(1, 3);
  ASSERT_EQ(q.enter(in(0ms)), Admission::kAdmitted);
  std::mutex m;
  std::vector<int> order;
  std::vector<std::future<void>> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(std::async(std::launch::async, [&, i] {
      ASSERT_EQ(q.enter(in(10s)), Admission::kAdmitted);
      {
        std::lock_guard<std::mutex> lock(m);
        order.push_back(i);
      }
      q.leave();
    }));
    wait_for_waiting(q, i + 1);
  }
  q.leave();
  for (auto& w : waiters) w.get();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(WorkQueue, WaitingEndsAtTheDeadlineOrWhenClosed) {
  WorkQueue q(1, 2);
  ASSERT_EQ(q.enter(in(0ms)), Admission::kAdmitted);
  EXPECT_EQ(q.enter(in(20ms)), Admission::kTimedOut);
  EXPECT_EQ(q.waiting(), 0) << "a request that gave up leaves the line";
  auto waiter = std::async(std::launch::async, [&] { return q.enter(in(10s)); });
  wait_for_waiting(q, 1);
  q.close();
  EXPECT_EQ(waiter.get(), Admission::kClosed);
  EXPECT_EQ(q.enter(in(0ms)), Admission::kClosed);
  EXPECT_EQ(q.running(), 1) << "running work is left to finish";
}

TEST(WorkQueue, RejectsImpossibleLimits) {
  test::expect_error([] { WorkQueue(0, 1); }, "concurrency 0");
  test::expect_error([] { WorkQueue(1, -1); }, "queue length -1");
}

}  // namespace
}  // namespace pconv
