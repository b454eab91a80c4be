package config

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// DatabaseImage names one more image whose data the pre-commit check must
// see in a named volume or a bind mount, beside the images it knows. It is
// read from the user configuration (database_images) and from a compose
// file's x-ledger block (internal/settings), in the same form:
//
//	database_images:
//	  - image: registry.example.com/team/ledger-db   # repository; registry and tag are ignored
//	    kind: postgres                               # for messages (default: the image's last name)
//	    data: /var/lib/ledger                        # the data directory
//	    volumes: [/var/lib/ledger]                   # VOLUME paths the image declares, if any
//	    env: LEDGER_DATA                             # a variable that moves the data directory
//	    flags: [--data-dir]                          # command flags that move it
type DatabaseImage struct {
	Image   string   `yaml:"image" json:"image"`
	Kind    string   `yaml:"kind,omitempty" json:"kind,omitempty"`
	Data    string   `yaml:"data" json:"data"`
	Volumes []string `yaml:"volumes,omitempty" json:"volumes,omitempty"`
	Env     string   `yaml:"env,omitempty" json:"env,omitempty"`
	Flags   []string `yaml:"flags,omitempty" json:"flags,omitempty"`
}

// Validate: an image, an absolute data directory, absolute VOLUME paths and
// flags that start with "-".
func (d DatabaseImage) Validate() error {
	var errs []error
	if strings.TrimSpace(d.Image) == "" {
		errs = append(errs, errors.New("an entry has no image"))
	}
	switch {
	case d.Data == "":
		errs = append(errs, fmt.Errorf("image %q: no data (its data directory, an absolute path in the container)", d.Image))
	case !path.IsAbs(d.Data):
		errs = append(errs, fmt.Errorf("image %q: data %q must be an absolute path in the container", d.Image, d.Data))
	}
	for _, v := range d.Volumes {
		if !path.IsAbs(v) {
			errs = append(errs, fmt.Errorf("image %q: volume %q must be an absolute path in the container", d.Image, v))
		}
	}
	for _, f := range d.Flags {
		if !strings.HasPrefix(f, "-") {
			errs = append(errs, fmt.Errorf("image %q: flag %q must start with -", d.Image, f))
		}
	}
	return errors.Join(errs...)
}
