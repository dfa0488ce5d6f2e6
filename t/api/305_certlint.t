# The certificate lint (t/lint/certlint.py) can fail (issue 3): good certificates pass,
# and deliberately broken ones are caught, each by the rule it breaks. Broken
# certificates come two ways: re-encoded from good ones (t/lint/selftest.py: serial,
# signature algorithm, issuer, validity, AKI/SKI, basic constraints, key usage, SAN,
# duplicate and unknown critical extensions, DER violations), for a pair made by openssl
# and for a pair the module issued; and made whole by the openssl CLI.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Issue;

# ---- a good pair from openssl, shaped like EndEntityCertificate/V1 under a root
my $ROOT_EXT = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign,cRLSign\n"
    . "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
my $LEAF_EXT = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
    . "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:leaf.example\n"
    . "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
sub serial { '0x5a' . join '', map { sprintf '%02x', int rand 256 } 1 .. 15 }

my $oroot = make_openssl_root(cn => 'Lint Root', ext => $ROOT_EXT, days => 365);
my $okey = make_csr(key => 'ec:P-256', subj => '/CN=lint leaf');
my $oleaf = $oroot ? openssl_sign_csr($oroot, $okey->{csr}, ext => $LEAF_EXT, days => 30, serial => serial()) : undef;

# ---- a good pair from the module
my $R = make_root_active(key => 'EC_prime256v1', cn => uniq('Lint Root'));
my $mleaf = $R ? issue_get($R->{arn}, make_csr(subj => '/CN=module leaf', ext => ['subjectAltName=DNS:m.example'])->{csr},
                           template => 'EndEntityCertificate/V1') : undef;

sub selftest {
    my($leaf, $ca) = @_;
    my $r = run_cmd(['/usr/bin/python3', "$FindBin::Bin/../lint/selftest.py",
                     write_file('st-leaf.pem', $leaf // ''), write_file('st-ca.pem', $ca // '')],
                    timeout => 120);
    [grep { /^(?:not )?ok \d+ - / } split /\n/, $r->{out}], $r;
}
my($st_o, $ro) = selftest($oleaf, $oroot && $oroot->{cert});
my($st_m, $rm) = selftest($mleaf && $mleaf->{cert}, $R && $R->{cert});

# ---- broken certificates made by the openssl CLI: [rule, issuer ext or undef (self-
# signed), extensions, extra x509 arguments, key spec, what]
my @BROKEN = (
    ['serial.positive', 1, $LEAF_EXT, { '-set_serial' => '0' }, 'ec:P-256', 'serial number 0'],
    ['serial.entropy', 1, $LEAF_EXT, { '-set_serial' => '12345' }, 'ec:P-256', 'a 14-bit serial number'],
    ['sigalg.weak', 1, $LEAF_EXT, { '-sha1' => 1 }, 'ec:P-256', 'signed with SHA-1'],
    ['spki.rsa-size', 1, $LEAF_EXT, {}, 'rsa:1024', 'an RSA-1024 key'],
    ['ku.kcs-ee', 1, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyCertSign\n"
        . "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n", {}, 'ec:P-256', 'keyCertSign in an end-entity certificate'],
    ['bc.not-critical', 0, "basicConstraints=CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
        . "subjectKeyIdentifier=hash\n", {}, 'ec:P-256', 'a CA with non-critical basic constraints'],
    ['ku.missing-ca', 0, "basicConstraints=critical,CA:TRUE\nsubjectKeyIdentifier=hash\n", {}, 'ec:P-256',
     'a CA without key usage'],
    # OpenSSL 3 adds both key identifiers unless told "none".
    ['aki.missing', 1, "basicConstraints=CA:FALSE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=none\n", {},
     'ec:P-256', 'no AKI'],
    ['ski.missing', 1, "basicConstraints=CA:FALSE\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=keyid\n", {},
     'ec:P-256', 'no SKI'],
    ['ca-only.ee', 1, $LEAF_EXT . "nameConstraints=critical,permitted;DNS:.example\n", {}, 'ec:P-256',
     'name constraints in an end-entity certificate'],
    ['ext.unknown-critical', 1, $LEAF_EXT . "1.2.3.4.5=critical,ASN1:NULL\n", {}, 'ec:P-256',
     'an unknown critical extension'],
    ['aia.critical', 1, $LEAF_EXT . "authorityInfoAccess=critical,OCSP;URI:http://ocsp.example\n", {}, 'ec:P-256',
     'a critical AIA'],
    ['validity.issuer', 1, $LEAF_EXT, { '-days' => 4000 }, 'ec:P-256', 'beyond the issuer\'s notAfter'],
    ['san.critical', 1, "basicConstraints=CA:FALSE\nsubjectAltName=DNS:x.example\n"
        . "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n", {}, 'ec:P-256', 'empty subject, non-critical SAN', '/'],
);

my $extra = 2 + 2 + @BROKEN;
plan tests => @$st_o + @$st_m + $extra, need_module('acmpca');

ok($oleaf && $oroot, 'openssl made a root and a leaf');
ok($mleaf && $R, 'the module issued a root and a leaf');
for my $line (@$st_o) {
    my($good, $desc) = $line =~ /^(ok|not ok) \d+ - (.*)$/;
    ok($good eq 'ok', "openssl pair: $desc");
}
for my $line (@$st_m) {
    my($good, $desc) = $line =~ /^(ok|not ok) \d+ - (.*)$/;
    ok($good eq 'ok', "module pair: $desc");
}
ok(@$st_o > 30, 'the self-test ran on the openssl pair') or diag($ro->{err});
ok(@$st_m > 30, 'the self-test ran on the module pair') or diag($rm->{err});

# Sign $k's CSR with the openssl root ($signed) or with its own key, with the
# extension lines $ext and the options of %a (-set_serial, -days, -sha1).
sub sign_with {
    my($signed, $k, $ext, %a) = @_;
    my @by = $signed ? ('-CA', write_file('broken-ca.pem', $oroot->{cert}), '-CAkey', $oroot->{key})
                     : ('-key', $k->{key});
    openssl('x509', '-req', '-in', write_file('broken.csr', $k->{csr}), @by,
            '-set_serial', $a{'-set_serial'} // serial(), '-days', $a{'-days'} // 30,
            (exists $a{'-sha1'} ? '-sha1' : '-sha256'),
            '-extfile', write_file('broken.ext', "[v3]\n$ext"), '-extensions', 'v3')->{out};
}

for my $b (@BROKEN) {
    my($rule, $signed, $ext, $args, $key, $what, $subj) = @$b;
    my $k = make_csr(key => $key, subj => $subj // '/CN=broken');
    my $cert = $oroot ? sign_with($signed, $k, $ext, %$args) : undef;
    my $l = lint_json({ cert => $cert // '', issuer => $signed && $oroot ? $oroot->{cert} : undef });
    my @hit = grep { /^\Q$rule\E:/ } @{ $l->{errors} };
    ok($cert && @hit, "openssl-made, $what: the lint fails it ($rule)")
        or diag(join "\n", 'errors: ', @{ $l->{errors} });
}
