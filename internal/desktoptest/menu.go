package desktoptest

import (
	"fmt"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// MenuItem is one node of a com.canonical.dbusmenu layout, as a panel reads it.
type MenuItem struct {
	ID        int32
	Label     string
	Enabled   bool
	Visible   bool
	Separator bool
	// Toggle is "checkmark", "radio" or "".
	Toggle   string
	Checked  bool
	Submenu  bool
	Children []MenuItem
}

// TrayItem talks to a StatusNotifierItem and its menu like a panel does.
type TrayItem struct {
	conn *dbus.Conn
	addr ItemAddress
}

// NewTrayItem returns a client for the item at addr, using conn.
func NewTrayItem(conn *dbus.Conn, addr ItemAddress) *TrayItem {
	return &TrayItem{conn: conn, addr: addr}
}

// Prop reads a property of the org.kde.StatusNotifierItem interface.
func (c *TrayItem) Prop(name string) (dbus.Variant, error) {
	v, err := c.conn.Object(c.addr.Service, c.addr.Path).GetProperty("org.kde.StatusNotifierItem." + name)
	if err != nil {
		return v, fmt.Errorf("reading item property %s: %w", name, err)
	}
	return v, nil
}

// Title reads the item's Title.
func (c *TrayItem) Title() (string, error) {
	v, err := c.Prop("Title")
	if err != nil {
		return "", err
	}
	s, ok := v.Value().(string)
	if !ok {
		return "", fmt.Errorf("Title is %s, not a string", v.Signature())
	}
	return s, nil
}

// ToolTip reads the title part of the item's ToolTip (s, a(iiay), s, s).
func (c *TrayItem) ToolTip() (string, error) {
	v, err := c.Prop("ToolTip")
	if err != nil {
		return "", err
	}
	fields, ok := v.Value().([]any)
	if !ok || len(fields) != 4 {
		return "", fmt.Errorf("ToolTip has signature %s", v.Signature())
	}
	s, _ := fields[2].(string)
	return s, nil
}

// Pixmap is one icon image: ARGB32 in network byte order.
type Pixmap struct {
	W, H int
	Data []byte
}

// IconPixmap reads the item's icon images.
func (c *TrayItem) IconPixmap() ([]Pixmap, error) {
	v, err := c.Prop("IconPixmap")
	if err != nil {
		return nil, err
	}
	list, ok := v.Value().([][]any)
	if !ok {
		return nil, fmt.Errorf("IconPixmap has signature %s", v.Signature())
	}
	var out []Pixmap
	for _, f := range list {
		if len(f) != 3 {
			return nil, fmt.Errorf("IconPixmap entry has %d fields", len(f))
		}
		out = append(out, Pixmap{W: toInt(f[0]), H: toInt(f[1]), Data: f[2].([]byte)})
	}
	return out, nil
}

func toInt(v any) int {
	switch n := v.(type) {
	case int32:
		return int(n)
	case int64:
		return int(n)
	case uint32:
		return int(n)
	case int:
		return n
	}
	return -1
}

func (c *TrayItem) menuObject() (dbus.BusObject, error) {
	v, err := c.Prop("Menu")
	if err != nil {
		return nil, err
	}
	path, ok := v.Value().(dbus.ObjectPath)
	if !ok {
		return nil, fmt.Errorf("Menu is %s, not an object path", v.Signature())
	}
	return c.conn.Object(c.addr.Service, path), nil
}

// Layout reads the whole menu tree with GetLayout(0, -1, []).
func (c *TrayItem) Layout() (MenuItem, error) {
	obj, err := c.menuObject()
	if err != nil {
		return MenuItem{}, err
	}
	var rev uint32
	var root []any
	call := obj.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
	if call.Err != nil {
		return MenuItem{}, fmt.Errorf("GetLayout: %w", call.Err)
	}
	if len(call.Body) != 2 {
		return MenuItem{}, fmt.Errorf("GetLayout returned %d values", len(call.Body))
	}
	rev, _ = call.Body[0].(uint32)
	_ = rev
	root, ok := call.Body[1].([]any)
	if !ok {
		return MenuItem{}, fmt.Errorf("GetLayout layout is %T", call.Body[1])
	}
	return decodeLayout(root)
}

func decodeLayout(v []any) (MenuItem, error) {
	if len(v) != 3 {
		return MenuItem{}, fmt.Errorf("layout node has %d fields", len(v))
	}
	id, _ := v[0].(int32)
	props, _ := v[1].(map[string]dbus.Variant)
	children, _ := v[2].([]dbus.Variant)
	it := MenuItem{ID: id, Enabled: true, Visible: true}
	for k, p := range props {
		switch k {
		case "label":
			l, _ := p.Value().(string)
			it.Label = displayLabel(l)
		case "enabled":
			it.Enabled, _ = p.Value().(bool)
		case "visible":
			it.Visible, _ = p.Value().(bool)
		case "type":
			it.Separator = p.Value() == "separator"
		case "toggle-type":
			it.Toggle, _ = p.Value().(string)
		case "toggle-state":
			it.Checked = toInt(p.Value()) == 1
		case "children-display":
			it.Submenu = p.Value() == "submenu"
		}
	}
	for _, ch := range children {
		node, ok := ch.Value().([]any)
		if !ok {
			return MenuItem{}, fmt.Errorf("child of %d is %s", id, ch.Signature())
		}
		child, err := decodeLayout(node)
		if err != nil {
			return MenuItem{}, err
		}
		it.Children = append(it.Children, child)
	}
	return it, nil
}

// Click sends a "clicked" event to a menu item, as a panel does.
func (c *TrayItem) Click(id int32) error {
	obj, err := c.menuObject()
	if err != nil {
		return err
	}
	call := obj.Call("com.canonical.dbusmenu.Event", 0, id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix()))
	if call.Err != nil {
		return fmt.Errorf("clicking menu item %d: %w", id, call.Err)
	}
	return nil
}

// Opened tells the item its menu was opened, as a panel does before showing it.
func (c *TrayItem) Opened() error {
	obj, err := c.menuObject()
	if err != nil {
		return err
	}
	call := obj.Call("com.canonical.dbusmenu.Event", 0, int32(0), "opened", dbus.MakeVariant(""), uint32(time.Now().Unix()))
	if call.Err != nil {
		return fmt.Errorf("opening the menu: %w", call.Err)
	}
	return nil
}

// Find returns the item reached by following labels from m, each matched as
// a prefix ("Providers", "A:" ...).
func (m MenuItem) Find(labels ...string) (MenuItem, bool) {
	cur := m
	for _, l := range labels {
		found := false
		for _, ch := range cur.Children {
			if !ch.Separator && ch.Visible && strings.HasPrefix(ch.Label, l) {
				cur, found = ch, true
				break
			}
		}
		if !found {
			return MenuItem{}, false
		}
	}
	return cur, true
}

// Outline renders the visible tree as indented text, one item a line:
// "label [disabled] [x]/[ ] >", separators as "---". It is what tests compare.
func (m MenuItem) Outline() string {
	var b strings.Builder
	var walk func(items []MenuItem, depth int)
	walk = func(items []MenuItem, depth int) {
		for _, it := range items {
			if !it.Visible {
				continue
			}
			b.WriteString(strings.Repeat("  ", depth))
			if it.Separator {
				b.WriteString("---\n")
				continue
			}
			b.WriteString(it.Label)
			if it.Toggle == "checkmark" {
				if it.Checked {
					b.WriteString(" [x]")
				} else {
					b.WriteString(" [ ]")
				}
			}
			if !it.Enabled {
				b.WriteString(" (disabled)")
			}
			if it.Submenu {
				b.WriteString(" >")
			}
			b.WriteString("\n")
			walk(it.Children, depth+1)
		}
	}
	walk(m.Children, 0)
	return b.String()
}

// displayLabel is a dbusmenu label as shown: "__" is one underscore, and a
// single "_" only marks the access key.
func displayLabel(l string) string {
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		if l[i] != '_' {
			b.WriteByte(l[i])
			continue
		}
		if i+1 < len(l) && l[i+1] == '_' {
			b.WriteByte('_')
			i++
		}
	}
	return b.String()
}
