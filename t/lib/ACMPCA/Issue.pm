# Licensed under the Apache License, Version 2.0.
# Helpers of the issuance tests (t/api/3xx, t/client/3xx) on top of ACMPCA::Test:
# CSRs made by openssl in every shape (good, weak, hostile, malformed), IssueCertificate
# and GetCertificate in one step, the certificate lint (t/lint/certlint.py) on every
# certificate a test issues, openssl verify -x509_strict against the returned chain,
# a read-only look into the sqlite store, and the templates of PCA-API.md §7.3 written
# out once more (independently of src/x509/template.c and t/lint/profiles.py).
#
#   use ACMPCA::Test; use ACMPCA::Issue;
#   my $k = make_csr(key => 'rsa:2048', subj => '/CN=x', ext => ['subjectAltName=DNS:x']);
#   my $c = issue_get($ca, $k->{csr}, template => 'EndEntityCertificate/V1');
#   lint_ok($c, 'the certificate passes the lint');
package ACMPCA::Issue;

use strict;
use warnings;

use Exporter 'import';
use Carp qw(croak);
use File::Spec::Functions qw(catfile);
use POSIX ();
use Test::Builder ();

use Apache::Test ();
use ACMPCA::Test;

our @EXPORT = qw(
    TEMPLATE_PREFIX tarn all_templates template_expect key_algorithms signing_algorithms
    make_csr csr_variant split_pem pem_to_der quick_openssl x509_text
    issue issue_get lint_json lint_ok lint_batch verify_strict verify_strict_ok
    store_db store_query store_rows store_cert_count ca_id_of serial_of lint_store
    ext_of ku_text eku_text
);

my $TB = Test::Builder->new;

use constant TEMPLATE_PREFIX => 'arn:aws:acm-pca:::template/';

sub tarn { my $n = shift; $n = "$n/V1" unless $n =~ m{/V\d+$}; TEMPLATE_PREFIX . $n }

sub top_dir { Apache::Test::vars('top_dir') }
sub lint_script { catfile(top_dir(), 't', 'lint', 'certlint.py') }

##########################################################################
# The templates (PCA-API.md §7.3)

# Key usage and EKU as `openssl x509 -text` prints them.
my $KU_EE = 'Digital Signature, Key Encipherment';
my $KU_DS = 'Digital Signature';
my $KU_CA = 'Digital Signature, Certificate Sign, CRL Sign';
my %EKU = (server => 'TLS Web Server Authentication', client => 'TLS Web Client Authentication',
           code => 'Code Signing', ocsp => 'OCSP Signing');

# base => {ca, pathlen, bc_critical, ku, eku, eku_critical, root, blank}
my %BASE = (
    EndEntityCertificate => { ca => 0, ku => $KU_EE, eku => "$EKU{server}, $EKU{client}" },
    EndEntityClientAuthCertificate => { ca => 0, ku => $KU_EE, eku => $EKU{client} },
    EndEntityServerAuthCertificate => { ca => 0, ku => $KU_EE, eku => $EKU{server} },
    CodeSigningCertificate => { ca => 0, ku => $KU_DS, eku => $EKU{code}, eku_critical => 1 },
    OCSPSigningCertificate => { ca => 0, ku => $KU_DS, eku => $EKU{ocsp}, eku_critical => 1 },
    RootCACertificate => { ca => 1, bc_critical => 1, ku => $KU_CA, root => 1 },
    BlankEndEntityCertificate => { ca => 0, blank => 1 },
    BlankEndEntityCertificate_CriticalBasicConstraints => { ca => 0, bc_critical => 1, blank => 1 },
    BlankRootCACertificate => { ca => 1, bc_critical => 1, root => 1, blank => 1 },
    (map { ("SubordinateCACertificate_PathLen$_" => { ca => 1, pathlen => $_, bc_critical => 1, ku => $KU_CA },
            "BlankRootCACertificate_PathLen$_" => { ca => 1, pathlen => $_, bc_critical => 1, root => 1, blank => 1 },
            "BlankSubordinateCACertificate_PathLen$_" => { ca => 1, pathlen => $_, bc_critical => 1, blank => 1 }) } 0 .. 3),
);

# Every template name (with /V1) the module offers.
sub all_templates {
    my @out;
    for my $base (sort keys %BASE) {
        my @v = $base =~ /^Blank/ ? qw(_APIPassthrough _APICSRPassthrough)
              : $base eq 'RootCACertificate' ? ('', '_APIPassthrough')
              : ('', qw(_CSRPassthrough _APIPassthrough _APICSRPassthrough));
        push @out, map { "$base$_/V1" } @v;
    }
    @out;
}

# template_expect($name) -> {base, variant, csr, api, ca, pathlen, bc_critical, ku, eku,
#   eku_critical, root, blank} or undef.
sub template_expect {
    my $name = shift // return;
    $name =~ s/^\Q${\ TEMPLATE_PREFIX}\E//;
    $name =~ s{/V1$}{};
    my($base, $variant) = $name =~ /^(.*?)(_CSRPassthrough|_APIPassthrough|_APICSRPassthrough)?$/;
    my $b = $BASE{$base} or return;
    $variant //= '';
    return { %$b, base => $base, variant => $variant,
             csr => $variant =~ /CSR/ ? 1 : 0, api => $variant =~ /API/ ? 1 : 0 };
}

sub key_algorithms { qw(RSA_2048 RSA_3072 RSA_4096 EC_prime256v1 EC_secp384r1 EC_secp521r1) }

sub signing_algorithms {
    my $key = shift;
    $key =~ /^RSA/ ? qw(SHA256WITHRSA SHA384WITHRSA SHA512WITHRSA)
                   : qw(SHA256WITHECDSA SHA384WITHECDSA SHA512WITHECDSA);
}

##########################################################################
# Running openssl quickly

# quick_openssl(@args) or quick_openssl({stdin => $bytes}, @args) -> {rc, out, err}.
# Like ACMPCA::Test::openssl, but waits for the child instead of polling it (a test
# that runs openssl a thousand times saves a minute); bounded by an alarm that kills
# the child's process group.
sub quick_openssl {
    my @args = @_;
    my %o = ref $args[0] eq 'HASH' ? %{ shift @args } : ();
    my $out = write_file('q.out', '');
    my $in = defined $o{stdin} ? write_file('q.in', $o{stdin}) : '/dev/null';
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', $in or POSIX::_exit(126);
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', "$out.err" or POSIX::_exit(126);
        exec '/usr/bin/openssl', @args or POSIX::_exit(127);
    }
    my $timed_out = 0;
    {
        local $SIG{ALRM} = sub { $timed_out = 1; kill 'KILL', -$pid };
        alarm($o{timeout} // 120);
        waitpid $pid, 0;
        alarm 0;
    }
    my $rc = $timed_out ? 124 : $? >> 8;
    my $r = { rc => $rc, out => read_file($out), err => read_file("$out.err") };
    unlink $out, "$out.err";
    unlink $in if defined $o{stdin};
    $r;
}

# `openssl x509 -text` of a PEM certificate, or undef.
sub x509_text {
    my $r = quick_openssl('x509', '-in', write_file('t.pem', $_[0] // ''), '-noout', '-text');
    $r->{rc} == 0 ? $r->{out} : undef;
}

##########################################################################
# CSRs made by openssl

my %KEY_CACHE;

# A key file for a spec: rsa:<bits>, ec:<curve>, ec-explicit:<curve>, ed25519. Keys are
# shared within a test file (key generation is the slow part).
sub key_file {
    my($spec, %o) = @_;
    return $KEY_CACHE{$spec} if $KEY_CACHE{$spec} && !$o{fresh};
    my($type, $arg) = split /:/, $spec, 2;
    my @a = $type eq 'rsa' ? ('-algorithm', 'RSA', '-pkeyopt', "rsa_keygen_bits:$arg")
          : $type eq 'ec' ? ('-algorithm', 'EC', '-pkeyopt', "ec_paramgen_curve:$arg")
          : $type eq 'ec-explicit' ? ('-algorithm', 'EC', '-pkeyopt', "ec_paramgen_curve:$arg",
                                      '-pkeyopt', 'ec_param_enc:explicit')
          : $type eq 'ed25519' ? ('-algorithm', 'ED25519')
          : croak "unknown key spec $spec";
    my $file = write_file('key.pem', '');
    my $r = openssl('genpkey', @a, '-out', $file);
    croak "genpkey $spec: $r->{err}" if $r->{rc};
    $KEY_CACHE{$spec} = $file;
}

# make_csr(key => spec (default ec:P-256), subj => '/CN=x' ('' = empty subject),
#   ext => [openssl.cnf extension lines], md => 'sha256', fresh => 1 (new key))
#   -> {key => path, csr => PEM, der => bytes}
sub make_csr {
    my %o = (key => 'ec:P-256', subj => '/CN=issue test', ext => [], @_);
    my $key = key_file($o{key}, fresh => $o{fresh});
    my $subj = length $o{subj} ? $o{subj} : '/';
    # A config file rather than -addext: no argument length limit, and duplicates pass.
    my $cnf = "[req]\ndistinguished_name = dn\nreq_extensions = ext\n[dn]\n[ext]\n"
        . join('', map { "$_\n" } @{ $o{ext} });
    my @md = $o{key} =~ /^ed25519/ ? () : ('-' . ($o{md} // 'sha256'));
    my $r = openssl('req', '-new', '-key', $key, '-subj', $subj, @md,
                    '-config', write_file('req.cnf', $cnf));
    croak "req: $r->{err}" if $r->{rc};
    my $der = openssl({ stdin => $r->{out} }, 'req', '-outform', 'DER')->{out};
    return { key => $key, csr => $r->{out}, der => $der };
}

# Broken framings of a good PEM CSR, by name.
sub csr_variant {
    my($pem, $how) = @_;
    my($b64) = $pem =~ /-----BEGIN CERTIFICATE REQUEST-----\n(.*?)-----END/s;
    return "$pem\ntrailing garbage\n" if $how eq 'trailing';
    return "$pem$pem" if $how eq 'two';
    return "-----BEGIN CERTIFICATE-----\n$b64-----END CERTIFICATE-----\n" if $how eq 'label';
    return substr($pem, 0, int(length($pem) / 2)) if $how eq 'truncated';
    return "-----BEGIN CERTIFICATE REQUEST-----\n" . substr($b64, 0, length($b64) - 30)
        . "\n-----END CERTIFICATE REQUEST-----\n" if $how eq 'short-body';
    return "Certificate Request:\n$pem" if $how eq 'leading';
    croak "unknown CSR variant $how";
}

# PEM certificates of a bundle, each ending in a newline.
sub split_pem {
    my $s = shift // '';
    map { "$_\n" } $s =~ /(-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----)/gs;
}

sub pem_to_der { openssl({ stdin => $_[0] }, 'x509', '-outform', 'DER')->{out} }

##########################################################################
# Issuing

# issue($ca_arn, $csr_pem, %o) -> ($status, $json, $response). %o: template (name or
# ARN), signing, validity, not_before, api (ApiPassthrough), token, csr_bytes (raw
# bytes sent instead of the PEM), extra (more members).
sub issue {
    my($ca, $csr, %o) = @_;
    my $t = $o{template};
    my %req = (
        CertificateAuthorityArn => $ca,
        Csr => b64($o{csr_bytes} // $csr),
        SigningAlgorithm => $o{signing} // 'SHA256WITHECDSA',
        Validity => $o{validity} // { Type => 'DAYS', Value => 30 },
        (defined $t ? (TemplateArn => $t =~ /^arn:/ ? $t : tarn($t)) : ()),
        ($o{not_before} ? (ValidityNotBefore => $o{not_before}) : ()),
        ($o{api} ? (ApiPassthrough => $o{api}) : ()),
        ($o{token} ? (IdempotencyToken => $o{token}) : ()),
        %{ $o{extra} || {} },
    );
    api(IssueCertificate => \%req);
}

# issue_get($ca_arn, $csr_pem, %o) -> {arn, cert, chain, issuer (first chain cert or
# the certificate itself), template, signing, res} or undef (diag) when either call
# fails. Nothing is asserted: lint_ok / verify_strict_ok do that.
sub issue_get {
    my($ca, $csr, %o) = @_;
    my($st, $j, $res) = issue($ca, $csr, %o);
    unless ($st == 200 && $j && $j->{CertificateArn}) {
        $TB->diag('IssueCertificate failed: ' . $res->code . ' ' . ($res->content // ''));
        return;
    }
    my $g = get_cert($ca, $j->{CertificateArn}) or return;
    my @chain = split_pem($g->{CertificateChain});
    return { arn => $j->{CertificateArn}, cert => $g->{Certificate}, chain => $g->{CertificateChain},
             issuer => $chain[0] // $g->{Certificate}, template => $o{template} // 'EndEntityCertificate/V1',
             signing => $o{signing} // 'SHA256WITHECDSA', res => $res };
}

##########################################################################
# The lint

# Private arcs the tests put in CustomExtensions, critical on purpose.
my @TEST_ARCS = ('1.3.6.1.4.1.99999');

sub _job {
    my($c, $id) = @_;
    return { id => $id, cert => write_file('lint-cert.pem', $c->{cert}),
             ($c->{issuer} ? (issuer => write_file('lint-issuer.pem', $c->{issuer})) : ()),
             ($c->{template} ? (template => $c->{template}) : ()),
             ($c->{signing} ? (signing => $c->{signing}) : ()),
             allow_critical => [@TEST_ARCS, @{ $c->{allow_critical} || [] }] };
}

# lint_batch([$c, ...]) -> [result, ...] in order, each {errors => [...], warnings,
# cert => view}; $c as issue_get returns it ({cert, issuer, template, signing}). One
# python process for all.
sub lint_batch {
    my $list = shift;
    return [] unless @$list;
    my $i = 0;
    my $jobs = write_file('lint-jobs.json', json_encode([map { _job($_, $i++) } @$list]));
    my $r = run_cmd(['/usr/bin/python3', lint_script(), '--batch', $jobs], timeout => 600,
                    env => { PYTHONDONTWRITEBYTECODE => 1 });
    my @out = map { json_decode($_) } grep { /\S/ } split /\n/, $r->{out};
    my @res;
    for my $o (@out) {
        next unless $o && defined $o->{id};
        push @{ $res[$o->{id}] }, $o;
    }
    # Several certificates in one file (a bundle) fold into one result.
    return [map {
        my $parts = $res[$_] || [{ errors => ["lint produced nothing: $r->{err}"], warnings => [] }];
        { errors => [map { @{ $_->{errors} } } @$parts], warnings => [map { @{ $_->{warnings} } } @$parts],
          cert => $parts->[0]{cert} }
    } 0 .. $#$list];
}

sub lint_json { lint_batch([$_[0]])->[0] }

# lint_ok($c, $name): one test, the certificate is lint-clean (errors shown on failure).
# Returns the lint result.
sub lint_ok {
    my($c, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    unless ($c && $c->{cert}) {
        $TB->ok(0, $name);
        $TB->diag('no certificate (an earlier step failed)');
        return;
    }
    my $l = lint_json($c);
    $TB->ok(!@{ $l->{errors} }, $name) or $TB->diag(join "\n", @{ $l->{errors} });
    $l;
}

# verify_strict($cert, $chain): openssl verify -x509_strict with the last certificate
# of the chain (or the certificate itself when there is none) as the trust anchor and
# the others as untrusted intermediates. -> {rc, out, err}
sub verify_strict {
    my($cert, $chain) = @_;
    my @chain = split_pem($chain);
    my $anchor = @chain ? pop @chain : $cert;
    my @a = ('verify', '-x509_strict', '-CAfile', write_file('anchor.pem', $anchor));
    push @a, '-untrusted', write_file('untrusted.pem', join '', @chain) if @chain;
    quick_openssl(@a, write_file('leaf.pem', $cert));
}

sub verify_strict_ok {
    my($c, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $r = $c ? verify_strict($c->{cert}, $c->{chain}) : { rc => -1, err => 'no certificate' };
    $TB->ok($r->{rc} == 0, $name) or $TB->diag("openssl verify: $r->{out}$r->{err}");
    $r->{rc} == 0;
}

##########################################################################
# Reading certificate text

# ext_of($text, 'Key Usage') -> (critical, value) from `openssl x509 -text`.
sub ext_of { cert_field(@_) }
sub ku_text  { (cert_field($_[0], 'Key Usage'))[1] }
sub eku_text { (cert_field($_[0], 'Extended Key Usage'))[1] }

sub ca_id_of  { ($_[0] // '') =~ m{certificate-authority/([0-9a-f-]{36})} ? $1 : undef }
sub serial_of { ($_[0] // '') =~ m{/certificate/([0-9a-f]+)$} ? $1 : undef }

##########################################################################
# The store, read-only (audit-independent counting)

# The sqlite file of the test store, or undef when the store is not sqlite.
sub store_db {
    my $spec = Apache::Test::vars('acmpca_store') // '';
    return $spec =~ /^sqlite:(.+)$/ ? $1 : undef;
}

# store_query($sql) -> [rows of [columns]] through the sqlite3 CLI, read-only (the
# server keeps writing; WAL lets a reader in). undef when not possible.
sub store_query {
    my $sql = shift;
    my $db = store_db() or return;
    return unless -x '/usr/bin/sqlite3' && -e $db;
    my $r = run_cmd(['/usr/bin/sqlite3', '-readonly', '-bail', '-separator', "\t",
                     '-cmd', '.timeout 10000', $db, $sql], timeout => 60);
    if ($r->{rc}) {
        $TB->diag("sqlite3: $r->{err}");
        return;
    }
    [map { [split /\t/, $_, -1] } grep { length } split /\n/, $r->{out}];
}

# store_rows($sql) -> [{column => value}] through sqlite3 -json (values may hold
# newlines, such as PEM text). undef when not possible.
sub store_rows {
    my $sql = shift;
    my $db = store_db() or return;
    return unless -x '/usr/bin/sqlite3' && -e $db;
    my $r = run_cmd(['/usr/bin/sqlite3', '-readonly', '-bail', '-json', '-cmd', '.timeout 10000', $db, $sql],
                    timeout => 120);
    if ($r->{rc}) {
        $TB->diag("sqlite3: $r->{err}");
        return;
    }
    return [] unless $r->{out} =~ /\S/;
    json_decode($r->{out});
}

# lint_store() -> (number of certificates, [failures]) or () when the store cannot be
# read: every certificate the server issued into the store, each with its CA's
# certificate as issuer (a root template's certificate is its own issuer) and its
# template's profile. Rows ACMPCA::Revoke::seed_revoked wrote to stand for a large
# store hold no certificate (pem 'seeded') and are left out.
sub lint_store {
    my $rows = store_rows('SELECT c.ca_id AS ca, c.serial AS serial, c.pem AS pem, c.template_arn AS template, '
                          . 'k.doc AS doc FROM certs c JOIN cas k ON k.id = c.ca_id '
                          . "WHERE c.pem <> 'seeded' ORDER BY k.seq, c.issued_at")
        or return;
    my(%issuer, @jobs);
    for my $row (@$rows) {
        my $t = template_expect($row->{template}) || {};
        $issuer{ $row->{ca} } //= do { my $d = json_decode($row->{doc}) || {}; $d->{_Certificate} // '' };
        push @jobs, { cert => $row->{pem}, template => $row->{template},
                      ($t->{root} || !$issuer{ $row->{ca} } ? () : (issuer => $issuer{ $row->{ca} })),
                      name => "CA $row->{ca} serial $row->{serial} ($row->{template})" };
    }
    my $l = lint_batch(\@jobs);
    my @bad = map { "$jobs[$_]{name}: @{ $l->[$_]{errors} }" } grep { @{ $l->[$_]{errors} } } 0 .. $#jobs;
    (scalar @jobs, \@bad);
}

# Certificates the store holds for a CA (undef when the store cannot be read).
sub store_cert_count {
    my $ca_id = shift;
    $ca_id =~ /^[0-9a-f-]{36}$/ or croak 'bad CA id';
    my $rows = store_query("SELECT count(*) FROM certs WHERE ca_id = '$ca_id'") or return;
    $rows->[0][0];
}

1;
