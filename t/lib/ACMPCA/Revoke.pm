# Licensed under the Apache License, Version 2.0.
# Helpers of the revocation tests (t/api/4xx_*.t, t/client/4xx_*.t): CAs with CRLs
# and OCSP, end-entity certificates, revocation, fetching by URL, reading CRLs and
# OCSP answers with openssl, changes made straight in the store (sqlite3 or redis-cli:
# the seeding of many revoked certificates, records as a crash would leave them), and
# the memory of the httpd children.
#
# The tests run against the vhost acmpca_revoke (t/conf/revoke.conf.in): a store of
# its own and no 30-minute audit report rule. use_vhost() points every helper of
# ACMPCA::Test (api, make_root_active, aws_cli, ...) there.
package ACMPCA::Revoke;

use strict;
use warnings;

use Exporter 'import';
use Carp qw(croak);
use File::Spec::Functions qw(catfile);
use IO::Socket::INET ();
use HTTP::Request ();
use JSON::PP ();
use LWP::UserAgent ();
use POSIX ();
use Time::HiRes ();
use Time::Local qw(timegm);

use Apache::Test ();
use ACMPCA::Test;

our @EXPORT = qw(
    VHOST use_vhost with_vhost with_credentials
    revocation_config crl_root crl_sub issue_leaf leaf_serial revoke revoke_res
    http_get http_post cdp_url ocsp_url
    crl_text crl_number crl_entries crl_verify crl_dates crl_der_from_url
    ocsp_query ocsp_request_der ocsp_response_text
    der_tlvs crl_issuer_der cert_subject_der raw_http
    store_db certquota_db main_store sqlite redis seed_revoked store_revoke_quietly store_report_put store_report_created
    children vm_hwm vm_rss error_log_lines
    wait_for
);

use constant VHOST => 'acmpca_revoke';

##########################################################################
# Which vhost and credentials the ACMPCA::Test helpers use

my $orig_hostport = \&ACMPCA::Test::hostport;
my $orig_credentials = \&ACMPCA::Test::credentials;

# Every later call of ACMPCA::Test's helpers goes to $vhost (default acmpca_revoke)
# unless it names a module itself.
sub use_vhost {
    my $vhost = shift // VHOST;
    my $caller = caller;
    my $hp = sub { $orig_hostport->($_[0] || $vhost) };
    no strict 'refs';
    no warnings 'redefine';
    *ACMPCA::Test::hostport = $hp;
    # the test's own imported hostport() too
    *{"${caller}::hostport"} = $hp if defined &{"${caller}::hostport"};
}

# with_vhost($vhost, sub { ... }): the same, for the duration of the block.
sub with_vhost {
    my($vhost, $code) = @_;
    no warnings 'redefine';
    local *ACMPCA::Test::hostport = sub { $orig_hostport->($_[0] || $vhost) };
    $code->();
}

# with_credentials({AccessKeyId, SecretAccessKey}, sub { ... }): sign as someone else.
sub with_credentials {
    my($creds, $code) = @_;
    no warnings 'redefine';
    local *ACMPCA::Test::credentials = sub { $creds };
    $code->();
}

##########################################################################
# CAs, certificates, revocation

my $nbucket = 0;

# RevocationConfiguration with a CRL in $bucket (and OCSP unless ocsp => 0).
sub revocation_config {
    my %o = (bucket => sprintf('crl-%d-%d', $$, ++$nbucket), days => 7, ocsp => 1, @_);
    return {
        CrlConfiguration => {
            Enabled => JSON::PP::true(), ExpirationInDays => $o{days}, S3BucketName => $o{bucket},
            ($o{cname} ? (CustomCname => $o{cname}) : ()),
            ($o{path} ? (CustomPath => $o{path}) : ()),
        },
        OcspConfiguration => { Enabled => $o{ocsp} ? JSON::PP::true() : JSON::PP::false() },
    };
}

# An ACTIVE root with CRL and OCSP: {arn, id, cert, bucket, ...} (make_root_active).
sub crl_root {
    my %o = @_;
    my $rc = $o{revocation} // revocation_config(%{ $o{crl} || {} });
    my $R = make_root_active(cn => $o{cn} // uniq('CRL Root'), key => $o{key} // 'EC_prime256v1',
                             ($o{signing} ? (signing => $o{signing}) : ()),
                             extra => { RevocationConfiguration => $rc }) or return;
    ($R->{id}) = $R->{arn} =~ m{/([0-9a-f-]{36})$};
    $R->{bucket} = $rc->{CrlConfiguration}{S3BucketName};
    $R->{revocation} = $rc;
    $R;
}

# An ACTIVE subordinate of $issuer with CRL and OCSP.
sub crl_sub {
    my($issuer, %o) = @_;
    my $rc = $o{revocation} // revocation_config(%{ $o{crl} || {} });
    my $S = make_sub_active($issuer, cn => $o{cn} // uniq('CRL Sub'), pathlen => 0,
                            extra => { RevocationConfiguration => $rc }) or return;
    ($S->{id}) = $S->{arn} =~ m{/([0-9a-f-]{36})$};
    $S->{bucket} = $rc->{CrlConfiguration}{S3BucketName};
    $S;
}

# An end-entity certificate from $ca: {arn, serial, cert, key}. %o: validity, cn.
sub issue_leaf {
    my($ca, %o) = @_;
    my $k = openssl_key_csr(subj => '/CN=' . ($o{cn} // uniq('leaf'))) or return;
    my($st, $j, $res) = api(IssueCertificate => {
        CertificateAuthorityArn => $ca->{arn}, Csr => b64($k->{csr}),
        SigningAlgorithm => $ca->{signing}, Validity => $o{validity} // { Type => 'DAYS', Value => 30 },
        ($o{template} ? (TemplateArn => $o{template}) : ()) });
    unless ($st == 200 && $j && $j->{CertificateArn}) {
        Test::More::diag('IssueCertificate failed: ' . $res->code . ' ' . $res->content);
        return;
    }
    my $got = get_cert($ca->{arn}, $j->{CertificateArn}) or return;
    my($serial) = $j->{CertificateArn} =~ m{/certificate/([0-9a-f]+)$};
    return { arn => $j->{CertificateArn}, serial => $serial, cert => $got->{Certificate},
             chain => $got->{CertificateChain}, key => $k->{key} };
}

sub leaf_serial { $_[0] ? $_[0]{serial} : '00' }

# revoke_res($ca_arn, $serial, $reason) -> HTTP::Response
sub revoke_res {
    my($arn, $serial, $reason) = @_;
    my(undef, undef, $res) = api(RevokeCertificate => { CertificateAuthorityArn => $arn // '',
        CertificateSerial => $serial // '', RevocationReason => $reason // 'UNSPECIFIED' });
    $res;
}

# revoke(...) -> 1 on 200
sub revoke { my $res = revoke_res(@_); $res->code == 200 }

##########################################################################
# DER, just enough to compare names byte for byte

# der_tlvs($bytes) -> ([tag, header_len, content_len, full_bytes], ...) of one level.
sub der_tlvs {
    my $b = shift // '';
    my @out;
    my $i = 0;
    while ($i < length $b) {
        my $start = $i;
        my $tag = ord substr($b, $i++, 1);
        my $len = ord substr($b, $i++, 1);
        if ($len & 0x80) {
            my $n = $len & 0x7f;
            $len = 0;
            $len = $len * 256 + ord substr($b, $i++, 1) for 1 .. $n;
        }
        my $hl = $i - $start;
        push @out, [$tag, $hl, $len, substr($b, $start, $hl + $len)];
        $i += $len;
    }
    @out;
}

sub _content { my $t = shift; substr($t->[3], $t->[1]) }

# The issuer Name of a DER CRL, as encoded.
sub crl_issuer_der {
    my($crl) = der_tlvs(shift) or return;
    my($tbs) = der_tlvs(_content($crl)) or return;
    my @e = der_tlvs(_content($tbs));
    my $i = $e[0][0] == 0x02 ? 2 : 1;    # version is optional
    $e[$i] ? $e[$i][3] : undef;
}

# The subject Name of a PEM certificate, as encoded.
sub cert_subject_der {
    my $pem = shift // return;
    my $der = openssl({ stdin => $pem }, 'x509', '-outform', 'DER')->{out};
    my($cert) = der_tlvs($der) or return;
    my($tbs) = der_tlvs(_content($cert)) or return;
    my @e = der_tlvs(_content($tbs));
    my $i = $e[0][0] == 0xa0 ? 5 : 4;
    $e[$i] ? $e[$i][3] : undef;
}

##########################################################################
# Raw HTTP: the request line exactly as given (LWP would clean some paths up)

# raw_http($method, $target, %headers; -module => vhost) -> {code, headers, body}
sub raw_http {
    my($method, $target, %h) = @_;
    my $hp = ACMPCA::Test::hostport(delete $h{-module});
    my($host, $port) = split /:/, $hp;
    my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => 30) or return;
    my $req = "$method $target HTTP/1.1\r\nHost: $hp\r\nConnection: close\r\n";
    $req .= "$_: $h{$_}\r\n" for sort keys %h;
    print $sock "$req\r\n";
    local $/;
    my $raw = <$sock> // '';
    close $sock;
    my($head, $body) = split /\r\n\r\n/, $raw, 2;
    my($code) = ($head // '') =~ m{^HTTP/1\.\d (\d{3})};
    { code => $code // 0, headers => $head // '', body => $body // '' };
}

##########################################################################
# HTTP by URL (unsigned, as CRL and OCSP clients fetch)

my $UA;
sub _ua { $UA ||= LWP::UserAgent->new(timeout => 120, keep_alive => 0, agent => 'acmpca-revoke-tests/1') }

# http_get($url, %headers) -> HTTP::Response; -method => 'HEAD' for HEAD.
sub http_get {
    my($url, %h) = @_;
    my $method = delete $h{-method} // 'GET';
    my $req = HTTP::Request->new($method => $url);
    $req->header($_ => $h{$_}) for keys %h;
    _ua()->request($req);
}

sub http_post {
    my($url, $body, %h) = @_;
    my $req = HTTP::Request->new(POST => $url);
    $req->header($_ => $h{$_}) for keys %h;
    $req->content($body);
    _ua()->request($req);
}

# The URI of the CRL Distribution Points / the AIA OCSP entry of a PEM certificate.
sub cdp_url {
    my $t = cert_text($_[0]) // return;
    $t =~ /X509v3 CRL Distribution Points:.*?URI:(\S+)/s ? $1 : undef;
}

sub ocsp_url {
    my $t = cert_text($_[0]) // return;
    $t =~ /OCSP - URI:(\S+)/ ? $1 : undef;
}

sub crl_der_from_url {
    my $url = shift // return;
    my $res = http_get($url);
    $res->code == 200 ? $res->content : undef;
}

##########################################################################
# CRLs, with openssl

sub _crl_file { write_file('crl.der', $_[0] // '') }

sub crl_text {
    my $r = openssl('crl', '-inform', 'DER', '-in', _crl_file($_[0]), '-noout', '-text');
    $r->{rc} == 0 ? $r->{out} : undef;
}

# openssl crl -verify with the CA certificate: 1 when "verify OK".
sub crl_verify {
    my($der, $ca_pem) = @_;
    my $r = openssl('crl', '-inform', 'DER', '-in', _crl_file($der), '-noout',
                    '-CAfile', write_file('ca.pem', $ca_pem // ''), '-verify');
    ($r->{rc} == 0 && ($r->{out} . $r->{err}) =~ /verify OK/) ? 1 : 0;
}

sub crl_number {
    my $t = ref $_[0] ? ${ $_[0] } : crl_text($_[0]);
    return unless defined $t;
    $t =~ /X509v3 CRL Number:\s*\n\s*(\d+)/ ? $1 + 0 : undef;
}

sub _epoch_of {
    my $s = shift;    # "Nov 29 15:40:10 2026 GMT"
    my %m; @m{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = (0 .. 11);
    $s =~ /^(\w{3})\s+(\d+)\s+(\d\d):(\d\d):(\d\d)\s+(\d{4})\s+GMT/ or return;
    timegm($5, $4, $3, $2, $m{$1}, $6);
}

# (lastUpdate, nextUpdate) as epoch seconds.
sub crl_dates {
    my $t = crl_text($_[0]) // return;
    my($l) = $t =~ /Last Update:\s*(.+)/;
    my($n) = $t =~ /Next Update:\s*(.+)/;
    (_epoch_of($l // ''), _epoch_of($n // ''));
}

# {serial(lowercase hex, no leading zeros) => {date => epoch, reason => text|undef}}
sub crl_entries {
    my $t = shift // return {};
    my %e;
    my $cur;
    for my $line (split /\n/, $t) {
        if ($line =~ /Serial Number:\s*([0-9A-Fa-f]+)/) {
            ($cur = lc $1) =~ s/^0+(?=.)//;
            $e{$cur} = { date => undef, reason => undef };
        }
        elsif ($cur && $line =~ /Revocation Date:\s*(.+)/) {
            $e{$cur}{date} = _epoch_of($1);
        }
        elsif ($cur && $line =~ /^\s+(Key Compromise|CA Compromise|Affiliation Changed|Superseded|Cessation Of Operation|Certificate Hold|Remove From CRL|Privilege Withdrawn|AA Compromise|Unspecified)\s*$/) {
            $e{$cur}{reason} = $1;
        }
    }
    \%e;
}

##########################################################################
# OCSP, with openssl

# ocsp_query(issuer_pem, cert_pem | serial => hex, url, nonce => 0|1, trust => pem)
#   -> {rc, out, err, status (good|revoked|unknown), reason, time, verified, nonce_ok}
sub ocsp_query {
    my %o = (nonce => 1, @_);
    my @a = ('ocsp', '-issuer', write_file('issuer.pem', $o{issuer}), '-url', $o{url},
             '-resp_text', '-timeout', '30');
    push @a, '-sha256' if $o{sha256};    # the CertID digest: before -cert / -serial
    push @a, defined $o{serial} ? ('-serial', '0x' . $o{serial}) : ('-cert', write_file('cert.pem', $o{cert}));
    push @a, $o{nonce} ? '-nonce' : '-no_nonce';
    push @a, '-CAfile', write_file('trust.pem', $o{trust} // $o{issuer});
    my $r = openssl(@a);
    my $all = $r->{out} . $r->{err};
    my %res = (%$r);
    ($res{status}) = $all =~ /:\s*(good|revoked|unknown)\s*$/m;
    ($res{reason}) = $all =~ /Reason:\s*(\S[^\n]*)/;
    ($res{time}) = $all =~ /Revocation Time:\s*([^\n]+)/;
    $res{time} = _epoch_of($res{time}) if defined $res{time};
    $res{verified} = $all =~ /Response verify OK/ ? 1 : 0;
    $res{nonce_ok} = $all =~ /WARNING: no nonce in response/ ? 0 : $o{nonce} ? ($all =~ /Response Extensions:.*?OCSP Nonce/s ? 1 : 0) : 1;
    $res{response_status} = $all =~ /OCSP Response Status:\s*(\S+)/ ? $1 : undef;
    \%res;
}

# The DER of an OCSP request made by openssl (for raw GET/POST tests).
sub ocsp_request_der {
    my %o = (nonce => 1, @_);
    my $out = catfile(tmpdir(), 'req-' . uniq('o') . '.der');
    my @a = ('ocsp', '-issuer', write_file('issuer.pem', $o{issuer}), '-reqout', $out);
    push @a, defined $o{serial} ? ('-serial', '0x' . $o{serial}) : ('-cert', write_file('cert.pem', $o{cert}));
    push @a, $o{nonce} ? '-nonce' : '-no_nonce';
    my $r = openssl(@a);
    return if $r->{rc} || !-s $out;
    read_file($out);
}

# The text of a DER OCSP response (openssl ocsp -respin -resp_text).
sub ocsp_response_text {
    my($der, %o) = @_;
    my @a = ('ocsp', '-respin', write_file('resp.der', $der // ''), '-resp_text', '-noverify');
    push @a, '-issuer', write_file('issuer.pem', $o{issuer}), '-cert', write_file('cert.pem', $o{cert})
        if $o{issuer} && $o{cert};
    my $r = openssl(@a);
    $r->{out} . $r->{err};
}

##########################################################################
# The store and the server's processes

# The vhost's ACMPCAStore (t/TEST.PL): sqlite:<file>, or redis://.../1 under make api-redis.
sub revoke_store { Apache::Test::vars('acmpca_revoke_store') // '' }

# The sqlite file of the store, or undef when it is redis.
sub store_db { revoke_store() =~ /^sqlite:(.+)$/ ? $1 : undef }

# The sqlite file of the vhost acmpca_certquota (always sqlite: t/TEST.PL).
sub certquota_db { (Apache::Test::vars('acmpca_certquota_store') // '') =~ /^sqlite:(.+)$/ ? $1 : undef }

# The ACMPCAStore of the main vhost acmpca: sqlite:<file>, or redis://.../0.
sub main_store { Apache::Test::vars('acmpca_store') // '' }

# redis(@args) -> {rc, out, err}: redis-cli on the store (an error reply is rc 1).
sub redis { redis_at(revoke_store(), @_) }

# redis_at($url, @args): the same on the store at $url.
sub redis_at {
    my $url = shift;
    my $r = run_cmd(['redis-cli', '-u', $url, @_], timeout => 300);
    $r->{rc} ||= $r->{out} =~ /^(?:ERR|WRONGTYPE|NOSCRIPT)\b/ ? 1 : 0;
    $r;
}

# sqlite($sql) -> {rc, out, err}; the test runs as root, the workers as www-data:
# the files keep their owner.
sub sqlite {
    my($sql, %o) = @_;
    my $db = $o{db} // store_db();
    my @st = stat $db;
    my $r = run_cmd(['/usr/bin/sqlite3', '-bail', '-cmd', '.timeout 20000', $db], stdin => $sql, timeout => 300);
    if (@st) {
        for my $f ($db, "$db-wal", "$db-shm") {
            chown $st[4], $st[5], $f if -e $f;
        }
    }
    $r;
}

# Insert $n revoked certificates of CA $ca_id straight into the store (a test-only
# shortcut: issuing 100,000 certificates through the API would take many minutes).
# Serials: 7e<hex of i> padded to 16 octets; revoked at $when with reasons cycling.
# sqlite: the WAL is checkpointed at once, so that the next write of the server does not
# pay for copying this bulk into the database. redis: the key layout of src/store/redis_keys.c.
# %o: now (epoch seconds), db (another vhost's sqlite file, e.g. certquota_db()), store
# (another vhost's ACMPCAStore, e.g. main_store()).
sub seed_revoked {
    my($ca_id, $n, %o) = @_;
    my $store = $o{store} // ($o{db} ? "sqlite:$o{db}" : revoke_store());
    my($db) = $store =~ /^sqlite:(.+)$/;
    my $now = $o{now} // time;
    my $nb = ($now - 3600) * 1_000_000;
    my $na = ($now + 365 * 86400) * 1_000_000;
    my $rv = ($now - 60) * 1_000_000;
    return redis_at($store, 'EVAL', <<'LUA', 3, "acmpca:{$ca_id}:cert:", "acmpca:{$ca_id}:certs",
local reasons = {[0] = 'KEY_COMPROMISE', [1] = 'SUPERSEDED', [2] = 'UNSPECIFIED'}
for i = 1, tonumber(ARGV[1]) do
  local s = string.format('7e%030x', i)
  redis.call('HSET', KEYS[1] .. s, 'pem', 'seeded', 'subject', 'CN=seeded ' .. i,
    'tmpl', 'arn:aws:acm-pca:::template/EndEntityCertificate/V1', 'nb', ARGV[2],
    'na', ARGV[3], 'ia', ARGV[2], 'ra', ARGV[4], 'rr', reasons[i % 3])
  redis.call('ZADD', KEYS[2], 0, s)
  redis.call('ZADD', KEYS[3], 0, s)
end
return 0
LUA
                 "acmpca:{$ca_id}:revoked", $n, $nb, $na, $rv) unless $db;
    my $sql = <<"SQL";
BEGIN;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $n)
INSERT INTO certs (ca_id, serial, pem, subject, template_arn, not_before, not_after,
                   issued_at, revoked_at, revocation_reason, requested_by)
SELECT '$ca_id', printf('7e%030x', i), 'seeded', 'CN=seeded ' || i,
       'arn:aws:acm-pca:::template/EndEntityCertificate/V1', $nb, $na, $nb, $rv,
       CASE i % 3 WHEN 0 THEN 'KEY_COMPROMISE' WHEN 1 THEN 'SUPERSEDED' ELSE 'UNSPECIFIED' END,
       NULL
FROM c;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
    sqlite($sql, db => $db);
}

# Mark a certificate revoked in the store alone, as if the CRL rebuild after it had
# failed ($when in microseconds).
sub store_revoke_quietly {
    my($ca_id, $serial, $when, $reason) = @_;
    return sqlite(sprintf "UPDATE certs SET revoked_at = %d, revocation_reason = '%s' "
                  . "WHERE ca_id = '%s' AND serial = '%s';", $when, $reason, $ca_id, $serial)
        if store_db();
    redis('EVAL', "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
          . "redis.call('HSET', KEYS[1], 'ra', ARGV[2], 'rr', ARGV[3]) "
          . "redis.call('ZADD', KEYS[2], 0, ARGV[1]) return 1",
          2, "acmpca:{$ca_id}:cert:$serial", "acmpca:{$ca_id}:revoked", $serial, $when, $reason);
}

# An audit report record as a process that is writing it (or died doing so) leaves it.
sub store_report_put {
    my($ca_id, $id, $status, $bucket, $key, $format, $created) = @_;
    return sqlite(sprintf "INSERT INTO reports (ca_id, id, status, bucket, key, format, created_at) "
                  . "VALUES ('%s', '%s', '%s', '%s', '%s', '%s', %d);",
                  $ca_id, $id, $status, $bucket, $key, $format, $created)
        if store_db();
    redis('EVAL', "local ord = redis.call('INCR', KEYS[3]) redis.call('DEL', KEYS[1]) "
          . "redis.call('HSET', KEYS[1], 'ord', ord, 'created', ARGV[2], 'status', ARGV[3], "
          . "'bucket', ARGV[4], 'key', ARGV[5], 'format', ARGV[6]) "
          . "redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) return 1",
          3, "acmpca:{$ca_id}:report:$id", "acmpca:{$ca_id}:reports", "acmpca:{$ca_id}:reportseq",
          $id, $created, $status, $bucket, $key, $format);
}

# Move a report's creation time ($created in microseconds).
sub store_report_created {
    my($ca_id, $id, $created) = @_;
    return sqlite(sprintf "UPDATE reports SET created_at = %d WHERE ca_id = '%s' AND id = '%s';",
                  $created, $ca_id, $id)
        if store_db();
    redis('EVAL', "redis.call('HSET', KEYS[1], 'created', ARGV[2]) "
          . "redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) return 1",
          2, "acmpca:{$ca_id}:report:$id", "acmpca:{$ca_id}:reports", $id, $created);
}

# The pids of the httpd children of the test server.
sub children {
    my $ppid = Apache::Test::config()->server->pid or return;
    my @kids;
    opendir my $dh, '/proc' or return;
    for my $p (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$p/stat" or next;
        my $stat = <$fh> // next;
        push @kids, $p if $stat =~ /^\d+ \(.*?\) \S (\d+)/ && $1 == $ppid;
    }
    @kids;
}

sub _status_kb {
    my($pid, $field) = @_;
    open my $fh, '<', "/proc/$pid/status" or return;
    while (my $l = <$fh>) { return $1 if $l =~ /^\Q$field\E:\s+(\d+) kB/ }
    return;
}

sub vm_hwm { _status_kb($_[0], 'VmHWM') }
sub vm_rss { _status_kb($_[0], 'VmRSS') }

# Lines of t/logs/error_log matching $re.
sub error_log_lines {
    my $re = shift;
    my $log = catfile(Apache::Test::vars('t_logs'), 'error_log');
    open my $fh, '<', $log or return ();
    grep { $_ =~ $re } <$fh>;
}

# wait_for(sub { ... }, $seconds): poll every 0.25 s until true; returns its value.
sub wait_for {
    my($code, $secs) = @_;
    my $deadline = Time::HiRes::time() + ($secs // 30);
    while (1) {
        my $v = $code->();
        return $v if $v || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.25);
    }
}

1;
