package yingji

import "github.com/google/uuid"

// NewID returns a new UUIDv7 string: time-ordered, generatable on phones too.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// ValidID reports whether s is a UUID in canonical form.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}
