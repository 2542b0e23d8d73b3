package recipes

import (
	"testing"

	"go.uber.org/goleak"
)

// Every Client a test makes is closed by the test, and every test server is
// stopped by t.Cleanup; nothing either started may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
