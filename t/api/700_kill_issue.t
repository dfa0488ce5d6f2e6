# Crash safety (issue 8): kill -9 of httpd children at random moments while several
# clients issue and revoke certificates. Afterwards: every certificate whose
# IssueCertificate returned 200 is there and in an audit report, no serial was handed out
# twice, retrying with the same IdempotencyToken yields one certificate (in the answers
# and in the store), every acknowledged revocation is on the CRL, the CRL number never
# went backwards, and the store passes PRAGMA integrity_check, also after the whole
# server is killed.
#
# A private httpd (ACMPCA::Private), so that the kills stay out of the suite's logs.
# Bounded: ACMPCA_KILL_ROUNDS kills (10; `make soak` sets ACMPCA_SOAK for 200).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke qw(revocation_config crl_text crl_number crl_entries);
use ACMPCA::Private;
use File::Spec::Functions qw(catfile);
use POSIX ();
use Time::HiRes ();

# Private servers with a sqlite store of their own: once per `make test`, not again in
# the redis run (make api-redis), which would test the same thing.
if ($ENV{ACMPCA_TEST_STORE}) {
    plan skip_all => 'runs in the sqlite pass of the suite';
}

my $ROUNDS = $ENV{ACMPCA_KILL_ROUNDS} // ($ENV{ACMPCA_SOAK} ? 200 : 10);
my $CLIENTS = $ENV{ACMPCA_SOAK} ? 6 : 4;
my $TRIES = 8;    # attempts per request: a client retries what a kill interrupted

plan tests => 19, need_module('acmpca');

my $s = ACMPCA::Private->new(name => 'kill', mpm => $ENV{ACMPCA_TEST_MPM} // 'event',
                             extra => "ACMPCACrlRefreshInterval 2\nACMPCAAuditReportInterval 0");
ok($s->start, 'a private httpd answers') or BAIL_OUT('no private server');

my $rc = revocation_config(bucket => 'kill-crl');
my $CA = $s->with(sub { make_root_active(cn => uniq('Kill Root'), extra => { RevocationConfiguration => $rc }) });
ok($CA, 'an ACTIVE root CA with CRLs') or BAIL_OUT('no CA');
my($ca_id) = $CA->{arn} =~ m{/([0-9a-f-]{36})$};
my $k = openssl_key_csr(subj => '/CN=kill.example.com');
my $csr = b64($k->{csr});
my $dir = tmpdir();
my $stop = catfile($dir, 'stop');

# One client: issue with a token of its own (retrying the same token until an answer
# comes), now and then revoke one of its certificates (retrying too). Every answer is
# one line of its log: ISSUE <token> <status> <type|arn> / REVOKE <serial> <status> <type>.
sub client {
    my $n = shift;
    my $log = catfile($dir, "client-$n.log");
    open my $out, '>', $log or POSIX::_exit(2);
    $out->autoflush(1);
    my(@mine, $i);
    while (!-e $stop) {
        $i++;
        if (@mine > 3 && rand() < 0.25) {
            my $serial = splice @mine, int rand @mine, 1;
            for (1 .. $TRIES) {
                my($st, $j) = $s->api(RevokeCertificate => { CertificateAuthorityArn => $CA->{arn},
                    CertificateSerial => $serial, RevocationReason => 'SUPERSEDED' });
                printf $out "REVOKE %s %d %s\n", $serial, $st, ($j && $j->{__type}) // '-';
                last if $st == 200 || ($st == 400 && $j && $j->{__type});
                Time::HiRes::sleep(0.05);
            }
            next;
        }
        my $token = "kill-$n-$$-$i";
        for (1 .. $TRIES) {
            my($st, $j) = $s->api(IssueCertificate => { CertificateAuthorityArn => $CA->{arn}, Csr => $csr,
                SigningAlgorithm => 'SHA256WITHECDSA', Validity => { Type => 'DAYS', Value => 7 },
                IdempotencyToken => $token });
            printf $out "ISSUE %s %d %s\n", $token, $st, $st == 200 ? $j->{CertificateArn} : (($j && $j->{__type}) // '-');
            if ($st == 200) {
                push @mine, $1 if $j->{CertificateArn} =~ m{/certificate/([0-9a-f]+)$};
                last;
            }
            last if $st == 400 && $j && $j->{__type};    # a real answer, not a dropped connection
            Time::HiRes::sleep(0.05);
        }
    }
    close $out;
    POSIX::_exit(0);
}

my @pids;
for my $n (1 .. $CLIENTS) {
    my $pid = fork // die "fork: $!";
    client($n) unless $pid;
    push @pids, $pid;
}

# The killer, and a reader of the CRL between kills.
my(@crl_numbers, $kills);
my $crl_url = $s->endpoint . "/crl/$ca_id.crl";
for my $round (1 .. $ROUNDS) {
    Time::HiRes::sleep(0.05 + rand 0.35);
    $kills++ if $s->kill_child;
    my $res = ACMPCA::Revoke::http_get($crl_url);
    if ($res->code == 200) {
        my $n = crl_number($res->content);
        push @crl_numbers, $n if defined $n;
    }
}
open my $fh, '>', $stop or die $!;
close $fh;
my $deadline = time + 180;
for my $pid (@pids) {
    while (waitpid($pid, POSIX::WNOHANG()) == 0 && time < $deadline) { Time::HiRes::sleep(0.1) }
    kill 'KILL', $pid if time >= $deadline;
}
ok($kills && $kills >= $ROUNDS / 2, "$kills of $ROUNDS kills hit a child");
ok($s->wait_up(60), 'the server answers after the kills');

# What the clients were told.
my(%issued, %arn_of, %revoked, %already, $dropped);
for my $n (1 .. $CLIENTS) {
    open my $in, '<', catfile($dir, "client-$n.log") or next;
    while (<$in>) {
        my($what, $key, $st, $v) = split ' ';
        $dropped++ if $st != 200 && $st != 400;
        if ($what eq 'ISSUE' && $st == 200) {
            $arn_of{$key}{$v} = 1;
            $issued{$v}{$key} = 1;
        }
        $revoked{$key} = 1 if $what eq 'REVOKE' && $st == 200;
        $already{$key} = 1 if $what eq 'REVOKE' && $st == 400 && $v eq 'RequestAlreadyProcessedException';
    }
}
my $tokens = keys %arn_of;
ok($tokens > 0, "$tokens requests were answered 200 (" . ($dropped // 0) . ' answers lost to kills)');
my @two = grep { keys %{ $arn_of{$_} } > 1 } keys %arn_of;
ok(!@two, 'every retried token answered with one and the same certificate') or diag("tokens with several: @two[0 .. ($#two < 4 ? $#two : 4)]");
my @shared = grep { keys %{ $issued{$_} } > 1 } keys %issued;
ok(!@shared, 'no certificate was handed to two different requests') or diag("shared: @shared[0 .. ($#shared < 4 ? $#shared : 4)]");

# The serial of a PEM certificate, read from its DER (an openssl per certificate is slow).
sub pem_serial {
    my $pem = shift // return '';
    my($b64) = $pem =~ /-----BEGIN CERTIFICATE-----(.*?)-----END/s or return '';
    my($cert) = ACMPCA::Revoke::der_tlvs(unb64($b64));
    my($tbs) = $cert ? ACMPCA::Revoke::der_tlvs(substr($cert->[3], $cert->[1])) : ();
    my @f = $tbs ? ACMPCA::Revoke::der_tlvs(substr($tbs->[3], $tbs->[1])) : ();
    my $serial = $f[0] && $f[0][0] == 0xa0 ? $f[1] : $f[0];
    $serial ? (unpack('H*', substr($serial->[3], $serial->[1])) =~ s/^(?:00)+(?=.)//r) : '';
}

# Every certificate acknowledged is there, and is the one named.
my @missing;
for my $arn (sort keys %issued) {
    my($st, $j) = $s->api(GetCertificate => { CertificateAuthorityArn => $CA->{arn}, CertificateArn => $arn });
    my($serial) = $arn =~ m{/certificate/([0-9a-f]+)$};
    push @missing, $arn unless $st == 200 && pem_serial($j->{Certificate}) eq $serial;
}
ok(!@missing, scalar(keys %issued) . ' acknowledged certificates are all retrievable, with the serials named')
    or diag(scalar(@missing) . " missing, e.g. $missing[0]");

# The same token once more returns the same certificate.
my @tok = (sort keys %arn_of)[0 .. ($tokens < 20 ? $tokens - 1 : 19)];
my @differs;
for my $t (@tok) {
    my($st, $j) = $s->api(IssueCertificate => { CertificateAuthorityArn => $CA->{arn}, Csr => $csr,
        SigningAlgorithm => 'SHA256WITHECDSA', Validity => { Type => 'DAYS', Value => 7 }, IdempotencyToken => $t });
    push @differs, $t unless $st == 200 && $arn_of{$t}{ $j->{CertificateArn} // '' };
}
ok(!@differs, scalar(@tok) . ' tokens retried after the run: the same certificate each') or diag("differs: @differs");

# The store: one row per token however often it was retried, no serial twice.
my $rows = $s->sqlite("SELECT COUNT(*) FROM certs WHERE ca_id = '$ca_id'") // '';
my $claims = $s->sqlite("SELECT COUNT(*) FROM idempotency WHERE scope LIKE 'IssueCertificate:%$ca_id'") // '';
my $orphans = $s->sqlite("SELECT COUNT(*) FROM certs WHERE ca_id = '$ca_id' AND serial NOT IN "
    . "(SELECT result FROM idempotency WHERE scope LIKE 'IssueCertificate:%$ca_id')") // '';
chomp($rows, $claims, $orphans);
ok(length $orphans && $orphans <= 1, "the store holds $rows certificates for $claims tokens: every one "
    . 'belongs to a token but the CA\'s own') or diag("rows without a token: $orphans");
is($s->sqlite("SELECT COUNT(*) FROM (SELECT serial FROM certs GROUP BY serial HAVING COUNT(*) > 1)") // '', "0\n",
   'no serial is stored twice');

# Revocations: on the CRL once it is rebuilt. The job runs every 2 s, but a child killed
# while it held the CA's CRL lock keeps others from building until the lock expires
# (a minute, src/ops/crl.c): up to 90 s.
my $want = { map { $_ => 1 } keys %revoked, keys %already };
my($entries, $last_n) = ({}, undef);
for (1 .. 180) {
    my $res = ACMPCA::Revoke::http_get($crl_url);
    if ($res->code == 200) {
        my $t = crl_text($res->content);
        $entries = crl_entries($t);
        my $n = crl_number(\$t);
        push @crl_numbers, $n if defined $n;
        last unless grep { !$entries->{ s/^0+(?=.)//r } } keys %$want;
    }
    Time::HiRes::sleep(0.5);
}
my @off = grep { !$entries->{ s/^0+(?=.)//r } } keys %$want;
ok(!@off, scalar(keys %revoked) . ' acknowledged revocations are all on the CRL') or diag("not on the CRL: @off[0 .. ($#off < 4 ? $#off : 4)]");
my @back = grep { $crl_numbers[$_] < $crl_numbers[$_ - 1] } 1 .. $#crl_numbers;
ok(!@back, 'the CRL number never went backwards over ' . scalar(@crl_numbers) . ' reads')
    or diag('sequence: ' . join ' ', @crl_numbers);

# The audit report lists every acknowledged certificate.
my($st, $j) = $s->api(CreateCertificateAuthorityAuditReport => { CertificateAuthorityArn => $CA->{arn},
    S3BucketName => 'kill-audit', AuditReportResponseFormat => 'JSON' });
my $report;
if ($st == 200) {
    for (1 .. 60) {
        my(undef, $d) = $s->api(DescribeCertificateAuthorityAuditReport => { CertificateAuthorityArn => $CA->{arn},
            AuditReportId => $j->{AuditReportId} });
        last if ($d->{AuditReportStatus} // '') eq 'FAILED';
        if (($d->{AuditReportStatus} // '') eq 'SUCCESS') {
            my $res = $s->with(sub { raw_request(GET => "/$d->{S3BucketName}/$d->{S3Key}", '', 'Content-Type' => undef) });
            $report = $res->code == 200 ? $res->content : undef;
            last;
        }
        Time::HiRes::sleep(0.5);
    }
}
my $in_report = { map { lc($_) =~ s/[^0-9a-f]//gr => 1 } ($report // '') =~ /"serial"\s*:\s*"([0-9a-fA-F:]+)"/gi };
my @unreported = grep { my($h) = m{/certificate/([0-9a-f]+)$}; !$in_report->{$h} } keys %issued;
ok($report && !@unreported, 'the audit report lists every acknowledged certificate')
    or diag($report ? scalar(@unreported) . " not listed, e.g. $unreported[0]" : "no report ($st)");

# The whole server killed at once, then the store is checked and served again.
ok($s->kill_all, 'the whole server killed at once (kill -9 of every process)');
my $ic = $s->sqlite('PRAGMA integrity_check;') // '';
is($ic, "ok\n", 'PRAGMA integrity_check passes after kill -9 of the whole server');
ok($s->start, 'the server starts again on the same store');
my @gone;
for my $arn ((sort keys %issued)[0 .. (keys(%issued) < 25 ? keys(%issued) - 1 : 24)]) {
    my($st2) = $s->api(GetCertificate => { CertificateAuthorityArn => $CA->{arn}, CertificateArn => $arn });
    push @gone, $arn unless $st2 == 200;
}
ok(!@gone, 'and serves the certificates acknowledged before') or diag("gone: @gone");
my @crash = grep { /exit signal (?!Killed)|Segmentation|double free|AddressSanitizer/ } split /\n/, $s->error_log;
ok(!@crash, 'no child died of anything but our SIGKILL') or diag(join "\n", @crash[0 .. ($#crash < 5 ? $#crash : 5)]);
$s->stop;
