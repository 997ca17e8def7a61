package tray

import (
	"fmt"
	"strings"

	"github.com/ccbalancer/ccbalancer/assets"
)

// backend is what the tray needs from a system tray library. The systray
// backend drives fyne.io/systray; tests use a fake.
type backend interface {
	SetIcon(assets.State)
	// SetTooltip sets the item's tooltip.
	SetTooltip(string)
	// Reset removes every menu item.
	Reset()
	// Add appends an item under parent (0: the top level) and returns its
	// handle; clicks on it are reported with it.Action.
	Add(parent int, it Item) int
	AddSeparator(parent int)
	// Update changes an existing item's label, enabled state and check mark.
	Update(handle int, it Item)
}

// view keeps the backend in step with the latest menu model. A menu with the
// same shape as the shown one is updated in place, so item ids stay stable
// and an open menu is not torn down every few seconds by a countdown; a
// different shape (providers added by a reload) rebuilds it.
type view struct {
	b       backend
	shape   string
	handles []int  // per flattened entry; 0 for separators
	shown   []Item // per flattened entry, without children
	icon    assets.State
	tooltip string
}

// flatEntry is an item in depth-first order with its parent's index (-1 for
// the top level).
type flatEntry struct {
	parent int
	item   Item
}

func flatten(items []Item, parent int, out []flatEntry) []flatEntry {
	for _, it := range items {
		children := it.Children
		it.Children = nil
		out = append(out, flatEntry{parent: parent, item: it})
		out = flatten(children, len(out)-1, out)
	}
	return out
}

func shapeOf(flat []flatEntry) string {
	var b strings.Builder
	for _, e := range flat {
		fmt.Fprintf(&b, "%d|%s|%t|%t\n", e.parent, e.item.Action, e.item.Separator, e.item.Checkable)
	}
	return b.String()
}

// apply shows menu, icon and tooltip, touching only what changed.
func (v *view) apply(menu []Item, icon assets.State, tooltip string) {
	if icon != v.icon {
		v.b.SetIcon(icon)
		v.icon = icon
	}
	if tooltip != v.tooltip {
		v.b.SetTooltip(tooltip)
		v.tooltip = tooltip
	}
	flat := flatten(menu, -1, nil)
	if shape := shapeOf(flat); shape != v.shape {
		v.rebuild(flat)
		v.shape = shape
		return
	}
	for i, e := range flat {
		old := v.shown[i]
		if e.item.Separator || (old.Label == e.item.Label && old.Disabled == e.item.Disabled && old.Checked == e.item.Checked) {
			continue
		}
		v.b.Update(v.handles[i], e.item)
		v.shown[i] = e.item
	}
}

func (v *view) rebuild(flat []flatEntry) {
	if v.shape != "" {
		v.b.Reset()
	}
	v.handles = make([]int, len(flat))
	v.shown = make([]Item, len(flat))
	for i, e := range flat {
		parent := 0
		if e.parent >= 0 {
			parent = v.handles[e.parent]
		}
		if e.item.Separator {
			v.b.AddSeparator(parent)
		} else {
			v.handles[i] = v.b.Add(parent, e.item)
		}
		v.shown[i] = e.item
	}
}
