// SPDX-License-Identifier: GPL-2.0-only
/*
 * An optional timing model of a CAAM job ring for the tk(...) skciphers
 * (docs/caam-abi.md §10).
 *
 * Off by default: with job_overhead_ns and ns_per_kib both 0, tk(...)
 * forwards requests to the kernel's AES as before and tests stay fast.
 * With either set, every request becomes a "job" on one simulated ring:
 *
 * - submission returns -EINPROGRESS (queued), or, when ring_depth jobs are
 *   already queued, -EBUSY with the job kept on a backlog if the caller set
 *   CRYPTO_TFM_REQ_MAY_BACKLOG (it is told -EINPROGRESS through its
 *   callback when the job moves onto the ring), else -ENOSPC and nothing is
 *   kept: the crypto API's rules for an asynchronous driver's queue;
 * - one engine runs the jobs serially in submission order; job i starts at
 *   max(submitted_i, end_{i-1}) and ends overhead + bytes * cost later,
 *   since CAAM's throughput (one DECO per ring on i.MX6/8M) is what the
 *   model stands for;
 * - a worker (an ordered workqueue) does the real AES of the head job,
 *   sleeps until the job's modelled end and completes it with the
 *   caller's callback, in softirq-like context (bottom halves off) as a
 *   job ring's completion tasklet would.
 *
 * The engine's clock advances by the modelled ends only, not by when the
 * worker woke up or how long the real AES took: a late wake-up delays one
 * completion, and the jobs queued behind it, already due, complete at once,
 * so over a queue of jobs the rate is the model's. A job never completes
 * before its AES is done: when the CPU is slower than the model, the CPU's
 * rate shows (the simulator cannot be faster than its CPU).
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/bottom_half.h>
#include <linux/crypto.h>

#include "caamsim.h"

static unsigned int job_overhead_ns;
module_param(job_overhead_ns, uint, 0644);
MODULE_PARM_DESC(job_overhead_ns,
		 "Timing model: fixed cost of one tk() job in ns (0 with ns_per_kib 0: model off)");

static unsigned int ns_per_kib;
module_param(ns_per_kib, uint, 0644);
MODULE_PARM_DESC(ns_per_kib,
		 "Timing model: cost of 1024 bytes of one tk() job in ns (0 with job_overhead_ns 0: model off)");

static unsigned int ring_depth = 512;
module_param(ring_depth, uint, 0644);
MODULE_PARM_DESC(ring_depth,
		 "Timing model: jobs queued on the ring before -EBUSY/backlog (default 512, CAAM's default ring size)");

/* Counters for tests; read-only in /sys/module/caamsim/parameters/. */
static unsigned long model_jobs, model_backlogged, model_rejected;
module_param(model_jobs, ulong, 0444);
MODULE_PARM_DESC(model_jobs, "Timing model: jobs completed");
module_param(model_backlogged, ulong, 0444);
MODULE_PARM_DESC(model_backlogged, "Timing model: jobs that waited on the backlog (submission returned -EBUSY)");
module_param(model_rejected, ulong, 0444);
MODULE_PARM_DESC(model_rejected, "Timing model: jobs refused with -ENOSPC (ring full, no MAY_BACKLOG)");

static struct {
	spinlock_t lock;
	struct list_head ring;		/* queued on the ring, head = running */
	struct list_head backlog;	/* waiting for a ring slot */
	unsigned int queued;		/* entries on ring */
	ktime_t engine_end;		/* modelled end of the last job; worker only */
	struct workqueue_struct *wq;
	struct work_struct work;
} ring;

bool caamsim_model_on(void)
{
	return READ_ONCE(job_overhead_ns) || READ_ONCE(ns_per_kib);
}

u64 caamsim_model_cost(unsigned int bytes)
{
	/* Shift, not division: no 64-bit divide helpers needed on 32-bit ARM. */
	return READ_ONCE(job_overhead_ns) +
	       (((u64)READ_ONCE(ns_per_kib) * bytes) >> 10);
}

int caamsim_model_submit(struct caamsim_job *job, bool may_backlog)
{
	unsigned int depth = max(READ_ONCE(ring_depth), 1U);
	int ret;

	job->submitted = ktime_get();
	spin_lock_bh(&ring.lock);
	if (ring.queued < depth && list_empty(&ring.backlog)) {
		list_add_tail(&job->node, &ring.ring);
		ring.queued++;
		ret = -EINPROGRESS;
	} else if (may_backlog) {
		list_add_tail(&job->node, &ring.backlog);
		model_backlogged++;
		ret = -EBUSY;
	} else {
		model_rejected++;
		ret = -ENOSPC;
	}
	spin_unlock_bh(&ring.lock);
	if (ret == -EINPROGRESS)
		queue_work(ring.wq, &ring.work);
	return ret;
}

/* Sleep until the absolute monotonic time end (no slack: jobs are µs long). */
static void model_sleep_until(ktime_t end)
{
	while (ktime_before(ktime_get(), end)) {
		set_current_state(TASK_UNINTERRUPTIBLE);
		schedule_hrtimeout_range(&end, 0, HRTIMER_MODE_ABS);
	}
}

static void model_work(struct work_struct *work)
{
	struct caamsim_job *job, *promoted;
	ktime_t start, end;
	int err;

	for (;;) {
		spin_lock_bh(&ring.lock);
		job = list_first_entry_or_null(&ring.ring, struct caamsim_job, node);
		spin_unlock_bh(&ring.lock);
		if (!job)
			return;

		start = ktime_before(ring.engine_end, job->submitted) ?
			job->submitted : ring.engine_end;
		end = ktime_add_ns(start, job->cost_ns);
		ring.engine_end = end;
		err = job->run(job);
		model_sleep_until(end);

		spin_lock_bh(&ring.lock);
		list_del(&job->node);
		ring.queued--;
		promoted = list_first_entry_or_null(&ring.backlog,
						    struct caamsim_job, node);
		if (promoted) {
			list_move_tail(&promoted->node, &ring.ring);
			ring.queued++;
		}
		model_jobs++;
		spin_unlock_bh(&ring.lock);

		local_bh_disable();
		if (promoted)
			promoted->done(promoted, -EINPROGRESS);
		job->done(job, err);
		local_bh_enable();
		cond_resched();
	}
}

int caamsim_model_init(void)
{
	spin_lock_init(&ring.lock);
	INIT_LIST_HEAD(&ring.ring);
	INIT_LIST_HEAD(&ring.backlog);
	INIT_WORK(&ring.work, model_work);
	/* Ordered: one engine. MEM_RECLAIM: it sits in dm-crypt's write path. */
	ring.wq = alloc_ordered_workqueue("caamsim_ring", WQ_MEM_RECLAIM | WQ_HIGHPRI);
	return ring.wq ? 0 : -ENOMEM;
}

/* Called after the tk() algorithms are gone: no tfm, so no job, is left. */
void caamsim_model_exit(void)
{
	destroy_workqueue(ring.wq);
}
