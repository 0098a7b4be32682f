package service_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestChangesGoThroughTheOutbox keeps every write of an order's or a
// refund's status in events.go, where the event that reports it is written
// in the same transaction: a status written anywhere else would change
// without the platform hearing of it.
func TestChangesGoThroughTheOutbox(t *testing.T) {
	guarded := map[string]bool{"OrderUpdate": true, "OrderInsert": true, "RefundUpdate": true}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || name == "events.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && guarded[sel.Sel.Name] {
				t.Errorf("%s: %s is called outside events.go; use saveOrder, insertOrder or saveRefund", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("checked only %d files", checked)
	}
}
