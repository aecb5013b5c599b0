package apitoken

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Allows reports whether t may perform every one of actions. A route that
// declares no action is open to FullAccess tokens only.
//
// ReadOnly tokens may perform actions whose last part is "find" or
// "findOne"; Custom tokens exactly the actions in their Permissions.
func (t *Token) Allows(actions ...string) bool {
	switch t.Type {
	case FullAccess:
		return true
	case ReadOnly:
		for _, a := range actions {
			if !isReadAction(a) {
				return false
			}
		}
		return len(actions) > 0
	case Custom:
		for _, a := range actions {
			if !slices.Contains(t.Permissions, a) {
				return false
			}
		}
		return len(actions) > 0
	}
	return false
}

func isReadAction(a string) bool {
	return strings.HasSuffix(a, ".find") || strings.HasSuffix(a, ".findOne")
}

// Action is a parsed action name such as "api::article.article.find":
// Group "api::article", Controller "article", Name "find".
type Action struct {
	Group      string // "api::<api>" or "plugin::<plugin>"
	Controller string
	Name       string
}

// String returns the action name.
func (a Action) String() string { return a.Group + "." + a.Controller + "." + a.Name }

// maxActionLen bounds action names, which arrive in admin request bodies.
const maxActionLen = 200

// ParseAction parses an action name of the form
// "<api|plugin>::<name>.<controller>.<action>". Each part is made of ASCII
// letters, digits, '-' and '_'.
func ParseAction(s string) (Action, error) {
	bad := func(why string) (Action, error) {
		return Action{}, fmt.Errorf("apitoken: invalid action %q: %s", truncate(s, 60), why)
	}
	if len(s) > maxActionLen {
		return bad("too long")
	}
	kind, rest, ok := strings.Cut(s, "::")
	if !ok || (kind != "api" && kind != "plugin") {
		return bad(`want "api::" or "plugin::" prefix`)
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return bad("want <name>.<controller>.<action>")
	}
	for _, p := range parts {
		if p == "" || strings.IndexFunc(p, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) >= 0 {
			return bad("parts must be non-empty letters, digits, '-' or '_'")
		}
	}
	return Action{Group: kind + "::" + parts[0], Controller: parts[1], Name: parts[2]}, nil
}

// Registry is the set of actions that routes declare, which custom tokens may
// be granted and which the admin screen offers. It is safe for concurrent use;
// the zero value is empty and ready.
type Registry struct {
	mu      sync.RWMutex
	actions map[string]Action
}

// Register adds actions. It panics on a malformed action name: actions are
// declared by code at start-up, like ServeMux patterns.
func (r *Registry) Register(actions ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.actions == nil {
		r.actions = make(map[string]Action)
	}
	for _, s := range actions {
		a, err := ParseAction(s)
		if err != nil {
			panic(err)
		}
		r.actions[s] = a
	}
}

// Has reports whether action is registered.
func (r *Registry) Has(action string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.actions[action]
	return ok
}

// Actions returns the registered action names, sorted.
func (r *Registry) Actions() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.actions))
	for s := range r.actions {
		names = append(names, s)
	}
	slices.Sort(names)
	return names
}

// ActionGroup is the actions of one API or plugin, by controller, in the shape
// of Strapi's GET /admin/content-api/permissions:
// {"controllers": {"article": ["create", "find", ...]}}.
type ActionGroup struct {
	Controllers map[string][]string `json:"controllers"`
}

// Groups returns the registered actions grouped by API and controller, each
// list sorted.
func (r *Registry) Groups() map[string]ActionGroup {
	r.mu.RLock()
	defer r.mu.RUnlock()
	groups := make(map[string]ActionGroup)
	for _, a := range r.actions {
		g, ok := groups[a.Group]
		if !ok {
			g = ActionGroup{Controllers: make(map[string][]string)}
			groups[a.Group] = g
		}
		g.Controllers[a.Controller] = append(g.Controllers[a.Controller], a.Name)
	}
	for _, g := range groups {
		for _, names := range g.Controllers {
			slices.Sort(names)
		}
	}
	return groups
}
