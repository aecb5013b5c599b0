package apitoken

import (
	"context"
	"time"
)

// The expiry events. A Service whose store is a NoticeClaimer emits each
// once per token and expiry, on one instance of those sharing the store.
const (
	EventExpiring EventKind = "expiring" // a token entered its last Config.ExpiryWarning
	EventExpired  EventKind = "expired"  // a token expired
)

// NoticeClaimer is a Store that records which expiry notices were given, so
// that of instances sharing it exactly one gives each: GitLab mails a
// token's owner 7 days before its expiry and on the day, once.
type NoticeClaimer interface {
	// ClaimNotice records that the notice kind for the token id's expiry
	// at expiresAt is being given, and reports whether this call is the
	// first to claim it. A token whose expiry changes is noticed again
	// for the new one.
	ClaimNotice(ctx context.Context, id string, expiresAt time.Time, kind EventKind) (bool, error)
}

// Defaults of Config.ExpiryWarning and Config.ExpiryCheck.
const (
	DefaultExpiryWarning = 7 * 24 * time.Hour
	DefaultExpiryCheck   = time.Hour
)

// notices gives the expiry events in the background.
type notices struct {
	claimer NoticeClaimer // nil: no notices
	warning time.Duration
	every   time.Duration
	stop    chan struct{}
	stopped chan struct{}
}

// startNotices starts checking for expiries every cfg.ExpiryCheck, if the
// store can claim notices and neither setting turns them off.
func (s *Service) startNotices(cfg *Config, clock Clock) {
	n := &s.notices
	n.claimer, _ = cfg.Store.(NoticeClaimer)
	n.warning, n.every = cfg.ExpiryWarning, cfg.ExpiryCheck
	if n.warning == 0 {
		n.warning = DefaultExpiryWarning
	}
	if n.every == 0 {
		n.every = DefaultExpiryCheck
	}
	if n.warning < 0 {
		n.claimer = nil
	}
	if n.claimer == nil || n.every < 0 {
		return
	}
	n.stop, n.stopped = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(n.stopped)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), max(n.every/2, time.Minute))
			if _, err := s.CheckExpiry(ctx); err != nil {
				s.log.Warn("apitoken: checking token expiries failed; trying again later", "err", err, "retry_in", n.every)
			}
			cancel()
			select {
			case <-clock.After(n.every):
			case <-n.stop:
				return
			}
		}
	}()
}

// closeNotices stops the background check.
func (s *Service) closeNotices() {
	if s.notices.stop != nil {
		close(s.notices.stop)
		<-s.notices.stopped
		s.notices.stop = nil
	}
}

// CheckExpiry gives the expiry events that are due, and returns how many it
// gave: EventExpiring for each token within Config.ExpiryWarning of its
// expiry, EventExpired for each that expired less than that long ago (not
// for tokens long dead when the check first ran), each once per token and
// expiry among every Service sharing the store. The Service runs it every
// Config.ExpiryCheck; call it to check now. It gives none when the store is
// no NoticeClaimer.
func (s *Service) CheckExpiry(ctx context.Context) (int, error) {
	n := &s.notices
	if n.claimer == nil {
		return 0, nil
	}
	now := s.now()
	list, err := s.List(ctx)
	if err != nil {
		return 0, err
	}
	given := 0
	for _, t := range list {
		if t.ExpiresAt == nil {
			continue
		}
		left := t.ExpiresAt.Sub(now)
		kind := EventExpiring
		switch {
		case left > n.warning || left < -n.warning:
			continue
		case left <= 0:
			kind = EventExpired
		}
		first, err := n.claimer.ClaimNotice(ctx, t.ID, *t.ExpiresAt, kind)
		if err != nil {
			return given, unavailable(err)
		}
		if first {
			given++
			s.event(ctx, kind, t, nil, caller{})
		}
	}
	return given, nil
}
