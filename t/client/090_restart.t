# Restarting httpd keeps every CA and key: a full stop and start of the test
# server, then a graceful restart (SIGUSR1, what `apachectl graceful` and a
# Debian reload send). Every record is as before, and CAs made before the restart
# still sign with the same keys. The server is left running, as the harness
# expects.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use Time::HiRes ();

plan tests => 16, need_module('acmpca');

my $R = make_root_active(key => 'RSA_2048', cn => uniq('Restart Root'));
my $S = make_sub_active($R, pathlen => 1, cn => uniq('Restart Sub'), validity => { Type => 'DAYS', Value => 200 });
my $P = create_ca(cn => uniq('Restart Pending'), extra => { Tags => [{ Key => 'keep', Value => 'me' }] });
ok($R && $S && $P, 'before: an ACTIVE root, an ACTIVE PathLen1 subordinate, a pending CA with a tag');

sub snapshot {
    my %s;
    for my $arn (grep { $_ } ($R && $R->{arn}), ($S && $S->{arn}), $P) {
        $s{describe}{$arn} = describe_ca($arn);
        $s{csr}{$arn} = get_ca_csr($arn);
    }
    my(undef, $t) = api(ListTags => { CertificateAuthorityArn => $P // '' });
    $s{tags} = ($t || {})->{Tags};
    my(@arns, $tok);
    for (1 .. 100) {
        my(undef, $j) = api(ListCertificateAuthorities => { MaxResults => 100, ($tok ? (NextToken => $tok) : ()) });
        push @arns, map { $_->{Arn} } @{ ($j || {})->{CertificateAuthorities} || [] };
        $tok = ($j || {})->{NextToken} or last;
    }
    $s{list} = \@arns;
    my(undef, $c) = api(GetCertificateAuthorityCertificate => { CertificateAuthorityArn => $S ? $S->{arn} : '' });
    $s{sub_cert} = $c;
    \%s;
}

# Proves the CA keys: S issues a PathLen0 CA certificate for a fresh CSR, and the
# result verifies against R with S as intermediate.
sub keys_work {
    my $what = shift;
    my $k = openssl_key_csr(subj => "/CN=after $what");
    my $carn = ($S && $k) ? issue_ca_cert($S->{arn}, $k->{csr}, signing => $S->{signing}, template => sub_template(0),
                                          validity => { Type => 'DAYS', Value => 10 }) : undef;
    my $got = $carn ? get_cert($S->{arn}, $carn) : undef;
    my $v = verify_cert($R ? $R->{cert} : '', $got ? $got->{Certificate} : '', $S ? $S->{cert} : '');
    ok($got && $v->{rc} == 0, "after $what: the subordinate made before still signs, and it verifies") or diag($v->{out} . $v->{err});
    my $rcarn = $R ? issue_ca_cert($R->{arn}, $R->{csr}, signing => $R->{signing}, validity => { Type => 'YEARS', Value => 3 }) : undef;
    my $rc = $rcarn ? get_cert($R->{arn}, $rcarn) : undef;
    ok($rc && cert_pubkey($rc->{Certificate}) eq cert_pubkey($R->{cert}) && verify_cert($rc->{Certificate}, $S->{cert})->{rc} == 0,
        "after $what: the root renews its own certificate with the same key");
}

my $before = snapshot();
ok(3 == grep({ defined } values %{ $before->{describe} }) && 3 == grep({ defined } values %{ $before->{csr} })
    && $before->{tags} && @{ $before->{list} } >= 3 && $before->{sub_cert}, 'a snapshot of the three CAs, the tags and the list');

my $server = Apache::Test::config()->server;
my $pid0 = $server->pid;
ok(restart_server(), 'httpd stops and starts again');
my $pid1 = $server->pid;
ok($pid1 && $pid0 && $pid1 != $pid0, 'it is a new httpd process') or diag("pid before $pid0, after " . ($pid1 // 'none'));
my $after = snapshot();
is_deeply($after->{describe}, $before->{describe}, 'every CA is described as before');
is_deeply($after->{csr}, $before->{csr}, 'every CSR is as before');
is_deeply($after->{tags}, $before->{tags}, 'the tags are as before');
is_deeply($after->{list}, $before->{list}, 'ListCertificateAuthorities lists the same CAs in the same order');
is_deeply($after->{sub_cert}, $before->{sub_cert}, 'the subordinate certificate and chain are as before');
keys_work('a stop and start');
my $P2 = create_ca(cn => uniq('after restart'));
ok($P2 && $P2 ne ($P // ''), 'new CAs can be created');

# Graceful restart: same parent, new generation of children.
kill 'USR1', $pid1 if $pid1;
my $ok = 0;
for (1 .. 100) {
    Time::HiRes::sleep(0.2);
    my(undef, undef, $res) = api(ListCertificateAuthorities => { MaxResults => 1 });
    if ($res->code == 200) { $ok = 1; last }
}
ok($ok && $server->pid == $pid1, 'after a graceful restart (SIGUSR1) the same httpd answers');
my $graceful = snapshot();
is_deeply($graceful->{describe}, $before->{describe}, 'every CA is described as before the restarts');
keys_work('a graceful restart');
