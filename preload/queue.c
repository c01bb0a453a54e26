/* SPDX-License-Identifier: MIT */
/*
 * Per-thread queues of deferred epoll_ctl ops, their registry and their lock
 * word, and the one rule by which a new op folds into a queued one.
 */
#include "shim.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>


static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tq *registry;
static pthread_key_t exit_key;

/* on_exit(queue) runs when a thread that has a queue exits. */
void queue_init(void (*on_exit)(void *))
{
	pthread_key_create(&exit_key, on_exit);
}

/* A queue for this thread: a dead thread's empty one, or a new one. */
struct tq *my_queue(void)
{
	struct tq *q = thr.q;

	if (likely(q))
		return q;
	pthread_mutex_lock(&reg_lock);
	for (q = registry; q; q = q->next)
		if (q->dead && q->n == 0 && atomic_load(&q->lock) == 0)
			break;
	if (!q) {
		q = calloc(1, sizeof(*q));
		/* pages are touched only for the fd numbers it queues ops on */
		if (q)
			q->idx = map_zero(TAB_MAX);
		if (!q || !q->idx) {
			free(q);
			pthread_mutex_unlock(&reg_lock);
			return NULL;
		}
		q->next = registry;
		registry = q;
	}
	q->tid = my_tid();
	q->pt = pthread_self();
	atomic_store(&q->in_fused, 0);
	q->tab = thr.tab;
	memset(&q->st, 0, sizeof(q->st));
	q->dead = 0;
	pthread_mutex_unlock(&reg_lock);
	thr.q = q;
	pthread_setspecific(exit_key, q);
	return q;
}

/* A thread is gone: its counters go to the process total, its queue (empty
 * by now) to the next thread. */
void queue_retire(struct tq *q)
{
	pthread_mutex_lock(&reg_lock);
	stats_retire(&q->st);
	memset(&q->st, 0, sizeof(q->st));
	q->dead = 1;
	pthread_mutex_unlock(&reg_lock);
	if (q == thr.q)
		thr.q = NULL;
}

/* fn on every queue, under the registry lock (fn must not take it). */
void queue_each(void (*fn)(struct tq *q, void *arg), void *arg)
{
	pthread_mutex_lock(&reg_lock);
	for (struct tq *q = registry; q; q = q->next)
		fn(q, arg);
	pthread_mutex_unlock(&reg_lock);
}

/* In a fork child: other threads do not exist here; their queued ops belong
 * to the parent, which applies them (no duplication). */
void queue_after_fork(void)
{
	for (struct tq *q = registry; q; q = q->next) {
		if (q == thr.q) {
			q->tid = my_tid();
			continue;
		}
		queue_clear(q);
		q->dead = 1;
		atomic_store(&q->lock, 0);
	}
	pthread_mutex_init(&reg_lock, NULL);
}

/* Another thread holds q's lock (it is flushing q, or q's owner is queueing). */
void queue_lock_wait(struct tq *q)
{
	int want = q == thr.q ? 1 : 2;
	int zero = 0;

	while (!atomic_compare_exchange_weak_explicit(&q->lock, &zero, want,
						      memory_order_acquire,
						      memory_order_relaxed)) {
		zero = 0;
		sched_yield();
	}
}
