#pragma once
/*
 * A vhost-user backend for unit tests: a thread on one end of a socket pair
 * that answers as a backend would (features, protocol features, acks when
 * asked, GET_VRING_BASE, GET_CONFIG) and records every request it got, with
 * the identity of the descriptors that came along. It can also misbehave on
 * one request: answer for another request, with a short or long payload,
 * bad flags, not at all, close the socket, or attach a descriptor.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmm/vhost_user.h"

enum fake_vhost_fault {
	FAKE_VHOST_OK,
	FAKE_VHOST_WRONG_REQUEST, /* the reply names another request */
	FAKE_VHOST_SHORT,	  /* payload 1 byte short */
	FAKE_VHOST_LONG,	  /* payload 8 bytes long */
	FAKE_VHOST_BAD_VERSION,	  /* flags: version 2 */
	FAKE_VHOST_NOT_REPLY,	  /* flags: no REPLY bit */
	FAKE_VHOST_SILENT,	  /* no reply at all */
	FAKE_VHOST_CLOSE,	  /* close the socket instead of replying */
	FAKE_VHOST_SEND_FD,	  /* a correct reply with an eventfd attached */
	FAKE_VHOST_NACK,	  /* acknowledge with 1 (failure) */
	FAKE_VHOST_FAULTS
};

#define FAKE_VHOST_LOG 64

struct fake_vhost_req {
	struct vhost_user_hdr hdr;
	union vhost_user_payload p;
	unsigned int nfds;
	dev_t dev[VHOST_USER_MAX_REGIONS];
	ino_t ino[VHOST_USER_MAX_REGIONS];
};

struct fake_vhost {
	int fd; /* the backend's end */
	pthread_t thread;
	uint64_t features, protocol; /* what it offers */
	uint16_t vring_base;	     /* GET_VRING_BASE answers this */
	enum fake_vhost_fault fault;
	uint32_t fault_on; /* the request that gets the fault */
	unsigned int n;	   /* requests recorded */
	struct fake_vhost_req log[FAKE_VHOST_LOG];
};

/* Start the backend; *frontend_fd is the other end, for vhost_user_init(). */
void fake_vhost_start(struct fake_vhost *b, uint64_t features, uint64_t protocol,
		      int *frontend_fd);

/* Wait for the thread to end (the frontend closed its end, or the fault closed it). */
void fake_vhost_join(struct fake_vhost *b);

/* The index in the log of the first `request` from `from` on, or -1. */
int fake_vhost_find(const struct fake_vhost *b, uint32_t request, unsigned int from);
