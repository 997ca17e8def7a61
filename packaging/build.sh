#!/usr/bin/env bash
# Builds ccbalancer's release files into dist/ (no arguments):
#   ccbalancer_<version>_linux_{amd64,arm64}.tar.gz   binary, README, example config, .desktop, user unit, icon
#   ccbalancer_<version>_{amd64,arm64}.deb, ccbalancer-<version>-1.{x86_64,aarch64}.rpm   (nfpm)
#   ccbalancer_<version>_windows_{amd64,arm64}.zip    GUI-subsystem ccbalancer.exe with icon, version
#                                                     information and manifest (go-winres)
#   ccbalancer_<version>_darwin_<arch>.zip            ccbalancer.app, only when run on a Mac (cgo)
#   SHA256SUMS                                        sums of all of the above
# VERSION, COMMIT and DATE default to the v* tag (or 0.0.0~git<date>.<commit>), HEAD and HEAD's
# commit time; they reach `ccbalancer version` through -ldflags. nfpm and go-winres come from the
# Go module proxy at fixed versions.
set -euo pipefail
cd "$(dirname "$0")/.."

NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
WINRES=github.com/tc-hib/go-winres@v0.3.3

COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
DATE=${DATE:-$(TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)}
if [[ -z ${VERSION:-} ]]; then
	if tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null); then
		VERSION=${tag#v}
	else
		base=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || echo v0.0.0)
		VERSION="${base#v}~git${DATE:0:4}${DATE:5:2}${DATE:8:2}.${COMMIT:0:7}"
	fi
fi
if [[ ! $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]]; then
	echo "build.sh: VERSION $VERSION does not start with MAJOR.MINOR.PATCH" >&2
	exit 1
fi
# Windows version resources take four numbers.
WINVER="${BASH_REMATCH[0]}.0"
export VERSION

DIST=dist
rm -rf "$DIST"
mkdir -p "$DIST/stage/tools"
# The tools, built once into the stage directory.
for tool in "$NFPM" "$WINRES"; do GOBIN=$PWD/$DIST/stage/tools go install "$tool"; done
nfpm=$DIST/stage/tools/nfpm
winres=$DIST/stage/tools/go-winres
LDFLAGS="-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE"
echo "ccbalancer $VERSION (commit $COMMIT, $DATE)"

# gobuild GOOS GOARCH OUTPUT [extra -ldflags]
gobuild() {
	echo "  go build $1/$2"
	GOOS=$1 GOARCH=$2 go build -trimpath -buildvcs=false -ldflags "$LDFLAGS ${4:-}" -o "$3" .
}

# The application icon: the tray's healthy state, every size drawn. (No mapfile: macOS has bash 3.2.)
# shellcheck disable=SC2207
icon_sizes=($(for f in assets/healthy-*.png; do n=${f#assets/healthy-}; echo "${n%.png}"; done | sort -n))
largest=${icon_sizes[${#icon_sizes[@]}-1]}

# Linux: the binary, a tarball, and .deb and .rpm built by nfpm from packaging/nfpm.yaml plus one
# hicolor entry per icon size.
for arch in amd64 arm64; do
	stage=$DIST/stage/linux_$arch
	mkdir -p "$stage"
	CGO_ENABLED=0 gobuild linux "$arch" "$stage/ccbalancer"
	nfpm_config=$stage/nfpm.yaml
	cp packaging/nfpm.yaml "$nfpm_config"
	for size in "${icon_sizes[@]}"; do
		cat >>"$nfpm_config" <<-EOF
		  - src: assets/healthy-$size.png
		    dst: /usr/share/icons/hicolor/${size}x${size}/apps/ccbalancer.png
		    file_info:
		      mode: 0644
		EOF
	done
	for packager in deb rpm; do
		ARCH=$arch STAGE=$stage "$nfpm" package --config "$nfpm_config" --packager "$packager" --target "$DIST/"
	done
	tardir=$stage/ccbalancer_${VERSION}_linux_$arch
	mkdir -p "$tardir"
	cp "$stage/ccbalancer" README.md providers.example.yaml packaging/ccbalancer.desktop packaging/ccbalancer.service "$tardir/"
	cp "assets/healthy-$largest.png" "$tardir/ccbalancer.png"
	tar -C "$stage" -czf "$DIST/ccbalancer_${VERSION}_linux_$arch.tar.gz" "$(basename "$tardir")"
done

# Windows: go-winres turns the icon, version information and manifest into .syso files that
# go build links into the main package; -H=windowsgui makes a GUI-subsystem program (no console
# window for the tray).
trap 'rm -f rsrc_windows_*.syso' EXIT
"$winres" make --in packaging/windows/winres.json --arch amd64,arm64 --out rsrc \
	--product-version "$WINVER" --file-version "$WINVER"
for arch in amd64 arm64; do
	dir=$DIST/stage/ccbalancer_${VERSION}_windows_$arch
	mkdir -p "$dir"
	CGO_ENABLED=0 gobuild windows "$arch" "$dir/ccbalancer.exe" -H=windowsgui
	cp README.md providers.example.yaml "$dir/"
	(cd "$DIST/stage" && zip -qr "../ccbalancer_${VERSION}_windows_$arch.zip" "$(basename "$dir")")
done
rm -f rsrc_windows_*.syso

# macOS: the tray needs cgo, so the .app is built on a Mac only, for its own architecture.
if [[ $(uname -s) == Darwin ]]; then
	arch=$(go env GOARCH)
	app=$DIST/stage/darwin_$arch/ccbalancer.app
	mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
	CGO_ENABLED=1 gobuild darwin "$arch" "$app/Contents/MacOS/ccbalancer"
	sed "s/@VERSION@/$VERSION/g" packaging/macos/Info.plist >"$app/Contents/Info.plist"
	cp assets/ccbalancer.icns "$app/Contents/Resources/ccbalancer.icns"
	ditto -c -k --keepParent "$app" "$DIST/ccbalancer_${VERSION}_darwin_$arch.zip"
fi

rm -rf "$DIST/stage"
(
	cd "$DIST"
	if command -v sha256sum >/dev/null; then sum=(sha256sum); else sum=(shasum -a 256); fi
	"${sum[@]}" -- *.deb *.rpm *.tar.gz *.zip >SHA256SUMS
)
ls -l "$DIST"
