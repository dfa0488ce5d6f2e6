# Licensed under the Apache License, Version 2.0.
# Helpers for the Apache::Test suite of mod_acmpca: signed API calls, AWS error
# assertions, the real clients (/usr/bin/aws, boto3 under /usr/bin/python3),
# openssl, and the CA flows (a ROOT or SUBORDINATE CA taken to ACTIVE).
#
# Use from a .t file:
#   use FindBin; use lib "$FindBin::Bin/../lib";
#   use Apache::Test qw(-withtestmore);
#   use ACMPCA::Test;
#   plan tests => 3, need_module('acmpca');
#
# api() signs with Debian's AWS::Signature4 (an independent signer, STYLE.md §8)
# using the credentials t/TEST.PL generated for this configuration.
package ACMPCA::Test;

use strict;
use warnings;

use Exporter 'import';
use Carp qw(croak);
use File::Temp ();
use File::Spec::Functions qw(catfile);
use JSON::PP ();
use MIME::Base64 qw(encode_base64 decode_base64);
use Digest::SHA qw(sha256_hex sha1_hex);
use POSIX ();
use Time::HiRes ();
use Time::Local qw(timegm);
use HTTP::Request ();
use LWP::UserAgent ();
use AWS::Signature4 ();
use Test::Builder ();

use Apache::Test ();
use Apache::TestRequest ();

our @EXPORT = qw(
    ACCOUNT REGION ROOT_TEMPLATE sub_template CA_ARN_RE CERT_ARN_RE
    api api_ok raw_post raw_request is_aws_error is_aws_error_any is_api_ok
    json_encode json_decode b64 unb64 uniq endpoint hostport credentials
    aws_cli cli_ok boto3_script client_env run_cmd nl
    openssl tmpdir write_file read_file secret_leaks
    cert_text csr_text cert_field cert_serial_hex cert_pubkey csr_pubkey cert_dates
    cert_subject csr_subject csr_rdns cert_issuer same_serial verify_cert make_openssl_root key_id spki_sha1
    openssl_sign_csr openssl_key_csr default_signing key_family
    ca_config create_ca describe_ca ca_status get_ca_csr issue_ca_cert get_cert
    import_ca_cert make_root_active make_sub_active restart_server mpm_log_re
);

use constant ACCOUNT       => '123456789012';
use constant REGION        => 'us-east-1';
use constant ROOT_TEMPLATE => 'arn:aws:acm-pca:::template/RootCACertificate/V1';
use constant CA_ARN_RE =>
    qr{^arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$};
use constant CERT_ARN_RE =>
    qr{^arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/[0-9a-f-]{36}/certificate/[0-9a-f]+$};

sub sub_template { "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen$_[0]/V1" }

my $TB   = Test::Builder->new;
my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

sub json_encode { $JSON->encode($_[0]) }
sub json_decode { my $s = shift; return undef unless defined $s && length $s; eval { $JSON->decode($s) } }
sub b64   { encode_base64($_[0], '') }
sub unb64 { decode_base64($_[0]) }

my $uniq = 0;
sub uniq { sprintf '%s-%d-%d', ($_[0] // 't'), $$, ++$uniq }

##########################################################################
# Where the API is and who we are

sub hostport {
    my $module = shift || 'acmpca';
    local $Apache::TestRequest::Module = $module;
    my $hp = Apache::TestRequest::hostport(Apache::Test::config());
    croak "no vhost '$module' in the test configuration" unless $hp && $hp =~ /:\d+$/;
    $hp;
}

sub endpoint { 'http://' . hostport(@_) }

my $CREDS;
sub credentials {
    return $CREDS if $CREDS;
    my $file = Apache::Test::vars('acmpca_credentials')
        or croak 'acmpca_credentials is not set: run t/TEST -clean and configure again';
    my $c = json_decode(read_file($file)) or croak "cannot parse $file";
    $CREDS = $c->{Credentials}[0];
}

##########################################################################
# HTTP

my $UA;
sub ua {
    $UA ||= LWP::UserAgent->new(timeout => 180, keep_alive => 0, agent => 'acmpca-tests/1');
}

# AWS::Signature4 derives the service from an amazonaws.com host name; ours is
# 127.0.0.1, so the scope is pinned to acm-pca (everything else is its code).
{
    package ACMPCA::Test::Signer;
    our @ISA = ('AWS::Signature4');
    sub _scope {
        my($self, $request, $region) = @_;
        my($date) = $self->_datetime($request) =~ /^(\d+)T/;
        return join '/', $date, ($region || ACMPCA::Test::REGION()), 'acm-pca', 'aws4_request';
    }
}

sub sign_request {
    my($req, %o) = @_;
    my $c = $o{credentials} || credentials();
    my $signer = ACMPCA::Test::Signer->new(-access_key => $c->{AccessKeyId},
                                           -secret_key => $c->{SecretAccessKey});
    $signer->sign($req, $o{region} || REGION, sha256_hex($req->content // ''));
}

# raw_request($method, $path, $bytes, %headers). Headers whose name starts with
# '-' are options: -module (vhost, default acmpca), -hostport (another server
# altogether), -unsigned, -credentials ({AccessKeyId, SecretAccessKey}).
# 'Content-Type' defaults to application/x-amz-json-1.1; pass undef to omit it.
sub raw_request {
    my($method, $path, $bytes, %h) = @_;
    my %o;
    for my $k (grep { /^-/ } keys %h) { $o{ substr $k, 1 } = delete $h{$k} }
    my $hp = $o{hostport} || hostport($o{module});
    my $req = HTTP::Request->new($method => "http://$hp$path");
    my $ct = exists $h{'Content-Type'} ? delete $h{'Content-Type'} : 'application/x-amz-json-1.1';
    $req->header('Content-Type' => $ct) if defined $ct;
    $req->header($_ => $h{$_}) for grep { defined $h{$_} } sort keys %h;
    $bytes //= '';
    utf8::downgrade($bytes, 1) or croak 'raw_request: body must be bytes';
    $req->content($bytes);
    $req->header('Content-Length' => length $bytes) if length $bytes || $method eq 'POST';
    $req->header(Host => $hp);
    sign_request($req, %o) unless $o{unsigned};
    return ua()->request($req);
}

# raw_post($target, $bytes, %headers): POST / with X-Amz-Target (undef: none).
sub raw_post {
    my($target, $bytes, %h) = @_;
    raw_request(POST => '/', $bytes, (defined $target ? ('X-Amz-Target' => $target) : ()), %h);
}

# api($op, \%body, %headers) -> (status, decoded JSON or undef, HTTP::Response)
sub api {
    my($op, $body, %h) = @_;
    my $bytes = ref $body ? json_encode($body) : defined $body ? $body : '{}';
    my $res = raw_post("ACMPrivateCA.$op", $bytes, %h);
    my $data = json_decode($res->content);
    return ($res->code, $data, $res);
}

sub _describe_res {
    my $res = shift;
    my $body = $res->content // '';
    $body = substr($body, 0, 600) . '...' if length $body > 600;
    sprintf '%s %s; x-amzn-RequestId: %s; body: %s', $res->code, ($res->message // ''),
        ($res->header('x-amzn-RequestId') // '(none)'), $body;
}

# is_api_ok($res, $name): 200, a JSON object body, x-amzn-RequestId.
sub is_api_ok {
    my($res, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    unless (ref $res) {
        $TB->ok(0, $name);
        $TB->diag('no response (an earlier step failed)');
        return undef;
    }
    my $data = json_decode($res->content);
    my @why;
    push @why, 'status ' . $res->code . ' (want 200)' unless $res->code == 200;
    push @why, 'body is not a JSON object' unless ref $data eq 'HASH';
    push @why, 'no x-amzn-RequestId' unless $res->header('x-amzn-RequestId');
    $TB->ok(!@why, $name) or $TB->diag(join('; ', @why) . "\n  " . _describe_res($res));
    return @why ? undef : $data;
}

# api_ok($op, \%body, $name) -> decoded JSON (undef on failure); one test.
sub api_ok {
    my($op, $body, $name) = @_;
    my(undef, undef, $res) = api($op, $body);
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is_api_ok($res, $name // "$op succeeds");
}

# is_aws_error($res, $status, $type, $message_re, $name): one test checking the
# HTTP status, the exact __type, a non-empty message (matching $message_re if
# given) and x-amzn-RequestId.
sub is_aws_error {
    my($res, $status, $type, $re, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    _aws_error($res, $status, [$type], $re, $name // "$type ($status)");
}

# is_aws_error_any($res, $status, [types], $re, $name): where PCA-API.md allows
# either of two types.
sub is_aws_error_any {
    my($res, $status, $types, $re, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    _aws_error($res, $status, $types, $re, $name // join('|', @$types) . " ($status)");
}

sub _aws_error {
    my($res, $status, $types, $re, $name) = @_;
    unless (ref $res) {
        $TB->ok(0, $name);
        $TB->diag('no response (an earlier step failed)');
        return 0;
    }
    my $data = json_decode($res->content);
    my @why;
    push @why, 'status ' . $res->code . " (want $status)" unless $res->code == $status;
    if (ref $data ne 'HASH') {
        push @why, 'body is not a JSON object';
    }
    else {
        my $t = $data->{__type} // '(none)';
        push @why, "__type $t (want " . join('|', @$types) . ')' unless grep { $t eq $_ } @$types;
        my $m = $data->{message};
        if (!defined $m || ref $m || !length $m) {
            push @why, 'no "message"';
        }
        elsif ($re && $m !~ $re) {
            push @why, "message '$m' !~ $re";
        }
    }
    push @why, 'no x-amzn-RequestId' unless $res->header('x-amzn-RequestId');
    $TB->ok(!@why, $name) or $TB->diag(join('; ', @why) . "\n  " . _describe_res($res));
    return !@why;
}

##########################################################################
# Processes, files

my $TMP;
sub tmpdir { $TMP ||= File::Temp::tempdir('acmpca-t-XXXXXX', TMPDIR => 1, CLEANUP => 1) }

my $nfile = 0;
sub write_file {
    my($name, $content) = @_;
    my $path = catfile tmpdir(), sprintf('%03d-%s', ++$nfile, $name);
    open my $fh, '>:raw', $path or croak "$path: $!";
    print $fh $content;
    close $fh or croak "$path: $!";
    $path;
}

sub read_file {
    my $path = shift;
    open my $fh, '<:raw', $path or croak "$path: $!";
    local $/;
    my $s = <$fh>;
    $s // '';
}

# secret_leaks($text, @secrets): what $text shows that no log or page may (issue 8): any
# of @secrets (access key secrets, session tokens, a KEK in each encoding), a PEM private
# key (in clear or base64, at each of the three alignments) or a full SigV4 signature.
sub secret_leaks {
    my($text, @secrets) = @_;
    my @found = map { '(a secret)' } grep { length && index($text, $_) >= 0 } @secrets;
    push @found, grep { $text =~ $_ } (qr/PRIVATE KEY/, qr/UFJJVkFURSBLRV|BSSVZBVEUgS0VZ|QUklWQVRFIEtFW/,
                                       qr/Signature=[0-9a-f]{64}/);
    @found;
}

# run_cmd(\@argv, env => {...}, stdin => $bytes, timeout => $s)
#   -> {rc, out, err, timed_out}. The child gets its own process group, killed
# entirely on timeout.
sub run_cmd {
    my($argv, %o) = @_;
    my $timeout = $o{timeout} // 180;
    my $out = catfile tmpdir(), "cmd-$$-" . (++$nfile) . '.out';
    my $err = "$out.err";
    my $in  = defined $o{stdin} ? write_file('stdin', $o{stdin}) : '/dev/null';
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        POSIX::setpgid(0, 0);
        if ($o{env}) {
            for my $k (keys %{ $o{env} }) {
                if (defined $o{env}{$k}) { $ENV{$k} = $o{env}{$k} } else { delete $ENV{$k} }
            }
        }
        open STDIN,  '<', $in  or POSIX::_exit(126);
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        { no warnings 'exec'; exec { $argv->[0] } @$argv; }
        POSIX::_exit(127);
    }
    my $deadline = Time::HiRes::time() + $timeout;
    my($rc, $timed_out) = (undef, 0);
    while (1) {
        my $w = waitpid $pid, POSIX::WNOHANG();
        if ($w == $pid) { $rc = $? >> 8; $rc = 128 + ($? & 127) if $? & 127; last }
        if (Time::HiRes::time() > $deadline) {
            $timed_out = 1;
            kill 'TERM', -$pid;
            Time::HiRes::sleep(2);
            kill 'KILL', -$pid;
            waitpid $pid, 0;
            $rc = 124;
            last;
        }
        Time::HiRes::sleep(0.05);
    }
    my $r = { rc => $rc, out => read_file($out), err => read_file($err), timed_out => $timed_out };
    unlink $out, $err;
    $r;
}

##########################################################################
# Real clients

# The environment of awscli and boto3: our endpoint and credentials, nothing
# from the invoking user's ~/.aws, no retries (a failure shows at once).
sub client_env {
    my %o = @_;
    my $c = $o{credentials} || credentials();
    my $home = catfile tmpdir(), 'home';
    mkdir $home;
    my $cfg = catfile $home, 'aws-config';
    unless (-e $cfg) { open my $fh, '>', $cfg or croak $!; close $fh }
    my %env = map { $_ => undef } grep { /^(AWS_|BOTO|PYTHON)/ } keys %ENV;
    %env = (%env,
        HOME                        => $home,
        ACMPCA_ENDPOINT             => endpoint($o{module}),
        AWS_ACCESS_KEY_ID           => $c->{AccessKeyId},
        AWS_SECRET_ACCESS_KEY       => $c->{SecretAccessKey},
        AWS_DEFAULT_REGION          => REGION,
        AWS_REGION                  => REGION,
        AWS_PAGER                   => '',
        AWS_CONFIG_FILE             => $cfg,
        AWS_SHARED_CREDENTIALS_FILE => catfile($home, 'no-credentials'),
        AWS_EC2_METADATA_DISABLED   => 'true',
        AWS_MAX_ATTEMPTS            => '1',
        AWS_RETRY_MODE              => 'standard',
        PYTHONNOUSERSITE            => '1',
        PYTHONDONTWRITEBYTECODE     => '1',
        LC_ALL                      => 'C.UTF-8',
    );
    \%env;
}

# aws_cli(@args) runs /usr/bin/aws @args --endpoint-url <ours> --output json
# (unless @args has --output) and returns {rc, out, err, json}.
# Text with exactly one trailing newline (PEM as the CLIs print it and as files hold it).
sub nl { my $s = shift // ''; $s =~ s/\n*\z/\n/; $s }

# aws_cli, counted as a test that passes when the command exits 0.
sub cli_ok {
    my($name, @args) = @_;
    my $r = aws_cli(@args);
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    $TB->ok($r->{rc} == 0, $name) or $TB->diag("aws @args\nrc=$r->{rc}\n$r->{err}");
    $r;
}

sub aws_cli {
    my @args = @_;
    my %o;
    %o = %{ shift @args } if ref $args[0] eq 'HASH';
    push @args, '--endpoint-url', endpoint($o{module}) unless grep { $_ eq '--endpoint-url' } @args;
    push @args, '--output', 'json' unless grep { $_ eq '--output' } @args;
    push @args, '--cli-connect-timeout', '10', '--cli-read-timeout', '120';
    my $r = run_cmd(['/usr/bin/aws', @args], env => client_env(%o), timeout => $o{timeout} // 180);
    $r->{json} = json_decode($r->{out});
    $r;
}

my $BOTO3_PRELUDE = <<'PY';
import base64, json, os, sys, time
import boto3, botocore
from botocore.config import Config
from botocore.exceptions import ClientError
ENDPOINT = os.environ["ACMPCA_ENDPOINT"]
pca = boto3.client("acm-pca", endpoint_url=ENDPOINT, region_name="us-east-1",
                   config=Config(retries={"max_attempts": 1, "mode": "standard"},
                                 connect_timeout=10, read_timeout=120))
def out(obj):
    sys.stdout.write(json.dumps(obj, default=str, sort_keys=True) + "\n")
PY

# boto3_script($python) runs /usr/bin/python3 with a prelude defining `pca`
# (the acm-pca client on our endpoint) and out(obj) (prints JSON). Returns
# {rc, out, err, json} with json = the last line of stdout, decoded.
sub boto3_script {
    my($code, %o) = @_;
    my $file = write_file('script.py', $BOTO3_PRELUDE . "\n" . $code);
    my $r = run_cmd(['/usr/bin/python3', $file], env => client_env(%o), timeout => $o{timeout} // 300);
    my @lines = grep { /\S/ } split /\n/, $r->{out};
    $r->{json} = @lines ? json_decode($lines[-1]) : undef;
    $r;
}

##########################################################################
# openssl

sub openssl {
    my @args = @_;
    my %o;
    %o = %{ shift @args } if ref $args[0] eq 'HASH';
    run_cmd(['/usr/bin/openssl', @args], %o, timeout => 120);
}

sub _pem_tool {
    my($tool, $pem, @args) = @_;
    my $f = write_file("$tool.pem", $pem // '');
    my $r = openssl($tool, '-in', $f, '-noout', @args);
    $r->{rc} == 0 ? $r->{out} : undef;
}

sub cert_text   { _pem_tool('x509', $_[0], '-text') }
sub csr_text    { _pem_tool('req', $_[0], '-text') }
sub cert_pubkey { _pem_tool('x509', $_[0], '-pubkey') }
sub csr_pubkey  { _pem_tool('req', $_[0], '-pubkey') }

sub _nameopt { ('-nameopt', 'oneline,-esc_msb,utf8') }
sub cert_subject { my $s = _pem_tool('x509', $_[0], '-subject', _nameopt()) // return; $s =~ s/^subject=\s*//; chomp $s; $s }
sub cert_issuer  { my $s = _pem_tool('x509', $_[0], '-issuer', _nameopt()) // return; $s =~ s/^issuer=\s*//; chomp $s; $s }
sub csr_subject  { my $s = _pem_tool('req', $_[0], '-subject', _nameopt()) // return; $s =~ s/^subject=\s*//; chomp $s; $s }

# The subject of a CSR as [[attribute, ASN.1 string type, value], ...] in DER
# order, from `openssl asn1parse` (attribute names as openssl prints them, OIDs
# numeric when openssl has no name).
sub csr_rdns {
    my $f = write_file('rdn.csr', $_[0] // '');
    my $r = openssl('asn1parse', '-in', $f);
    return if $r->{rc};
    my(@rdn, $attr);
    for my $line (split /\n/, $r->{out}) {
        last if $line =~ /OBJECT\s+:(?:rsaEncryption|id-ecPublicKey|ML-DSA|SM2)/;
        if ($line =~ /prim: OBJECT\s+:(.+?)\s*$/) { $attr = $1; next }
        if (defined $attr && $line =~ /prim: (\w+)\s+:(.*?)\s*$/) {
            push @rdn, [$attr, $1, $2];
            undef $attr;
        }
    }
    \@rdn;
}

# The serial as lowercase hex without colons or leading zeros.
sub cert_serial_hex {
    my $s = _pem_tool('x509', $_[0], '-serial') // return;
    $s =~ /serial=([0-9A-Fa-f]+)/ or return;
    (my $h = lc $1) =~ s/^0+(?=.)//;
    $h;
}

# Compare serials written in any of: "0a:1b", "0A1B", "a1b".
sub same_serial {
    my($x, $y) = @_;
    return 0 unless defined $x && defined $y;
    for ($x, $y) { $_ = lc $_; s/://g; s/^0+(?=.)// }
    $x eq $y;
}

# (notBefore, notAfter) as epoch seconds.
sub cert_dates {
    my $s = _pem_tool('x509', $_[0], '-startdate', '-enddate', '-dateopt', 'iso_8601') // return;
    my @t;
    for my $k (qw(notBefore notAfter)) {
        $s =~ /$k=(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)Z/ or return;
        push @t, timegm($6, $5, $4, $3, $2 - 1, $1);
    }
    @t;
}

# The text of one X509v3 extension (e.g. 'Basic Constraints'), with ' critical'
# appended to the name line when critical: returns (critical, value) or ().
sub cert_field {
    my($text, $ext) = @_;
    return unless defined $text;
    $text =~ /^( *)(?:X509v3 )?\Q$ext\E:( critical)? *\n((?:\1 +\S.*\n?)+)/m or return;
    my($crit, $val) = ($2 ? 1 : 0, $3);
    $val =~ s/^\s+//mg;
    $val =~ s/\s+$//;
    return ($crit, $val);
}

# A key identifier from certificate text ('Subject Key Identifier' or
# 'Authority Key Identifier') as lowercase hex without colons.
sub key_id {
    my($text, $ext) = @_;
    my(undef, $v) = cert_field($text, $ext);
    return unless defined $v;
    ($v) = split /\n/, $v;
    $v =~ s/^keyid://;
    $v =~ s/://g;
    lc $v;
}

# RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING (without
# its unused-bits byte) of a PEM public key, as lowercase hex.
sub spki_sha1 {
    my $pub = shift // return;
    my $der = openssl({ stdin => $pub }, 'pkey', '-pubin', '-outform', 'DER')->{out};
    return unless length $der;
    my $p = openssl({ stdin => $der }, 'asn1parse', '-inform', 'DER')->{out};
    $p =~ /^\s*(\d+):d=1\s+hl=(\d+)\s+l=\s*(\d+)\s+prim: BIT STRING/m or return;
    Digest::SHA::sha1_hex(substr $der, $1 + $2 + 1, $3 - 1);
}

# verify_cert($trust_pem, $leaf_pem, $untrusted_pem) -> {rc, out, err}
sub verify_cert {
    my($trust, $leaf, $untrusted) = @_;
    my @a = ('verify', '-CAfile', write_file('trust.pem', $trust));
    push @a, '-untrusted', write_file('untrusted.pem', $untrusted) if defined $untrusted && length $untrusted;
    push @a, write_file('leaf.pem', $leaf);
    openssl(@a);
}

# A key and CSR made by openssl (not by the module): {key => path, csr => pem}.
sub openssl_key_csr {
    my %o = (subj => '/CN=openssl test', alg => 'ec', @_);
    my $key = catfile tmpdir(), 'k' . (++$nfile) . '.pem';
    my @kargs = $o{alg} eq 'rsa'
        ? ('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048')
        : ('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
    my $r = openssl(@kargs, '-out', $key);
    return if $r->{rc};
    $r = openssl('req', '-new', '-key', $key, '-subj', $o{subj}, @{ $o{req_args} || [] });
    return if $r->{rc};
    { key => $key, csr => $r->{out} };
}

# A self-signed CA made by openssl: {key => path, cert => pem}. %o: cn, ext
# (extension lines for the certificate), days.
sub make_openssl_root {
    my %o = (cn => 'External Root', days => 3650, @_);
    my $ext = $o{ext} // "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n"
        . "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n";
    my $k = openssl_key_csr(subj => "/CN=$o{cn}") or return;
    my $extf = write_file('root.ext', "[v3]\n$ext");
    my $r = openssl('x509', '-req', '-in', write_file('root.csr', $k->{csr}), '-key', $k->{key},
                    '-days', $o{days}, '-sha256', '-extfile', $extf, '-extensions', 'v3');
    return if $r->{rc};
    { key => $k->{key}, cert => $r->{out} };
}

# openssl_sign_csr($issuer, $csr_pem, %o): a certificate for the CSR's key,
# signed by an openssl-made issuer; %o: ext (extension lines), days, serial.
sub openssl_sign_csr {
    my($issuer, $csr, %o) = @_;
    my $ext = $o{ext} // "basicConstraints=critical,CA:TRUE,pathlen:0\n"
        . "keyUsage=critical,keyCertSign,cRLSign,digitalSignature\n"
        . "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n";
    my $extf = write_file('sign.ext', "[v3]\n$ext");
    my $r = openssl('x509', '-req', '-in', write_file('sign.csr', $csr),
                    '-CA', write_file('issuer.pem', $issuer->{cert}), '-CAkey', $issuer->{key},
                    '-set_serial', $o{serial} // ('0x' . sprintf('%08x%08x', rand(2**31), rand(2**31))),
                    '-days', $o{days} // 365, '-sha256', '-extfile', $extf, '-extensions', 'v3');
    return if $r->{rc};
    $r->{out};
}

##########################################################################
# CA flows over the API. Each returns undef (with a diag) when a step fails.

sub key_family { $_[0] =~ /^RSA/ ? 'RSA' : $_[0] =~ /^EC/ ? 'EC' : $_[0] }

sub default_signing {
    my $key = shift;
    return 'SHA256WITHRSA'   if $key =~ /^RSA/;
    return 'SHA384WITHECDSA' if $key eq 'EC_secp384r1';
    return 'SHA512WITHECDSA' if $key eq 'EC_secp521r1';
    return 'SHA256WITHECDSA';
}

sub _step_failed {
    my($what, $res) = @_;
    $TB->diag("$what failed: " . _describe_res($res));
    return;
}

# ca_config(%o) -> CertificateAuthorityConfiguration
sub ca_config {
    my %o = @_;
    my $key = $o{key} // 'EC_prime256v1';
    return {
        KeyAlgorithm     => $key,
        SigningAlgorithm => $o{signing} // default_signing($key),
        Subject          => $o{subject} // { CommonName => $o{cn} // uniq('CA'), Organization => 'mod_acmpca tests' },
        ($o{csr_extensions} ? (CsrExtensions => $o{csr_extensions}) : ()),
    };
}

# create_ca(type => ROOT|SUBORDINATE, key, signing, subject|cn, extra => {...})
#   -> ARN or undef
sub create_ca {
    my %o = @_;
    my $req = {
        CertificateAuthorityConfiguration => ca_config(%o),
        CertificateAuthorityType          => $o{type} // 'ROOT',
        %{ $o{extra} || {} },
    };
    my($st, $j, $res) = api(CreateCertificateAuthority => $req, %{ $o{headers} || {} });
    return _step_failed('CreateCertificateAuthority', $res) unless $st == 200 && $j && $j->{CertificateAuthorityArn};
    $j->{CertificateAuthorityArn};
}

sub describe_ca {
    my $arn = shift;
    my($st, $j, $res) = api(DescribeCertificateAuthority => { CertificateAuthorityArn => $arn });
    return _step_failed('DescribeCertificateAuthority', $res) unless $st == 200 && $j;
    $j->{CertificateAuthority};
}

sub ca_status { my $d = describe_ca($_[0]) or return; $d->{Status} }

sub get_ca_csr {
    my $arn = shift;
    my($st, $j, $res) = api(GetCertificateAuthorityCsr => { CertificateAuthorityArn => $arn });
    return _step_failed('GetCertificateAuthorityCsr', $res) unless $st == 200 && $j && $j->{Csr};
    $j->{Csr};
}

# issue_ca_cert($issuer_arn, $csr_pem, %o) -> certificate ARN
sub issue_ca_cert {
    my($issuer, $csr, %o) = @_;
    my $req = {
        CertificateAuthorityArn => $issuer,
        Csr                     => b64($csr),
        SigningAlgorithm        => $o{signing} // 'SHA256WITHECDSA',
        TemplateArn             => $o{template} // ROOT_TEMPLATE,
        Validity                => $o{validity} // { Type => 'YEARS', Value => 10 },
        %{ $o{extra} || {} },
    };
    my($st, $j, $res) = api(IssueCertificate => $req);
    return _step_failed('IssueCertificate', $res) unless $st == 200 && $j && $j->{CertificateArn};
    $j->{CertificateArn};
}

# get_cert($ca_arn, $cert_arn) -> {Certificate, CertificateChain}
sub get_cert {
    my($ca, $cert) = @_;
    my($st, $j, $res) = api(GetCertificate => { CertificateAuthorityArn => $ca, CertificateArn => $cert });
    return _step_failed('GetCertificate', $res) unless $st == 200 && $j && $j->{Certificate};
    $j;
}

sub import_ca_cert {
    my($arn, $cert, $chain) = @_;
    my($st, $j, $res) = api(ImportCertificateAuthorityCertificate => {
        CertificateAuthorityArn => $arn, Certificate => b64($cert),
        (defined $chain ? (CertificateChain => b64($chain)) : ()) });
    return _step_failed('ImportCertificateAuthorityCertificate', $res) unless $st == 200;
    1;
}

# make_root_active(key, signing, cn|subject, validity, extra) ->
#   {arn, csr, cert, cert_arn, key, signing}: create a ROOT CA, issue its own
# certificate with RootCACertificate/V1 and import it.
sub make_root_active {
    my %o = (key => 'EC_prime256v1', @_);
    $o{signing} //= default_signing($o{key});
    my $arn  = create_ca(%o, type => 'ROOT') or return;
    my $csr  = get_ca_csr($arn) or return;
    my $carn = issue_ca_cert($arn, $csr, signing => $o{signing}, template => ROOT_TEMPLATE,
                             validity => $o{validity} // { Type => 'YEARS', Value => 10 }) or return;
    my $got  = get_cert($arn, $carn) or return;
    import_ca_cert($arn, $got->{Certificate}) or return;
    return { arn => $arn, csr => $csr, cert => $got->{Certificate}, chain => undef,
             cert_arn => $carn, key => $o{key}, signing => $o{signing} };
}

# make_sub_active($issuer, key, signing, pathlen, validity, ...) ->
#   {arn, csr, cert, chain, cert_arn, key, signing}: a SUBORDINATE CA signed by
# $issuer (a hash from make_root_active or make_sub_active), imported with the
# chain GetCertificate returned.
sub make_sub_active {
    my($issuer, %o) = @_;
    return unless $issuer;
    %o = (key => 'EC_prime256v1', pathlen => 0, @_[1 .. $#_]);
    $o{signing} //= default_signing($o{key});
    my $arn  = create_ca(%o, type => 'SUBORDINATE') or return;
    my $csr  = get_ca_csr($arn) or return;
    my $carn = issue_ca_cert($issuer->{arn}, $csr, signing => $issuer->{signing},
                             template => sub_template($o{pathlen}),
                             validity => $o{validity} // { Type => 'DAYS', Value => 365 }) or return;
    my $got  = get_cert($issuer->{arn}, $carn) or return;
    import_ca_cert($arn, $got->{Certificate}, $got->{CertificateChain}) or return;
    return { arn => $arn, csr => $csr, cert => $got->{Certificate}, chain => $got->{CertificateChain},
             cert_arn => $carn, key => $o{key}, signing => $o{signing} };
}

##########################################################################
# Server control

# The error-log lines each MPM writes under its own message ID: 'resuming' starts a server
# generation ("configured -- resuming normal operations"), 'graceful' is a graceful
# restart being taken (event AH00489/AH00493, worker AH00292/AH00297, prefork
# AH00163/AH00171).
my %MPM_LOG = (
    resuming => qr/AH00(?:489|292|163): .* configured -- resuming normal operations/,
    graceful => qr/AH00(?:493|297): SIGUSR1 received|AH00171: Graceful restart requested/,
);
sub mpm_log_re { $MPM_LOG{ $_[0] } // die "mpm_log_re: no such line: $_[0]\n" }

# restart_server(): stop the test httpd as Debian's apache2.service does (apachectl
# graceful-stop: SIGWINCH, each child finishes what it is doing; bounded wait) and start
# it again with the command Apache::Test uses; wait until the API answers. Not SIGTERM:
# httpd 2.4's event MPM then closes the sockets of busy workers from the child's main
# thread while a worker may be releasing its connection, and a child sometimes died of
# that race (a core showed mod_mpm_event's main thread in apr_os_sock_get, no module
# frame; once in 25 stops under load here). Returns 1 on success; diags and returns 0
# otherwise.
sub restart_server {
    my %o = (timeout => 60, @_);
    my $config = Apache::Test::config();
    my $server = $config->server;
    my $pidfile = $server->pid_file;
    my $pid = $server->pid;
    unless ($pid && kill 0, $pid) {
        $TB->diag("restart_server: no running httpd (pid file $pidfile)");
        return 0;
    }
    kill 'WINCH', $pid;
    my $deadline = time + $o{timeout};
    while (kill(0, $pid) && time < $deadline) { Time::HiRes::sleep(0.1) }
    if (kill 0, $pid) {
        $TB->diag("restart_server: httpd $pid did not stop within $o{timeout}s");
        return 0;
    }
    unlink $pidfile;
    my $cmd = $server->start_cmd;
    my $r = run_cmd(['/bin/sh', '-c', $cmd], timeout => $o{timeout});
    if ($r->{rc}) {
        $TB->diag("restart_server: '$cmd' exited $r->{rc}: $r->{err}");
        return 0;
    }
    while (time < $deadline) {
        if ($server->pid) {
            my $res = eval { raw_post('ACMPrivateCA.ListCertificateAuthorities', '{}') };
            return 1 if $res && $res->header('x-amzn-RequestId');
        }
        Time::HiRes::sleep(0.2);
    }
    $TB->diag("restart_server: the API did not answer within $o{timeout}s after '$cmd'");
    return 0;
}

1;
