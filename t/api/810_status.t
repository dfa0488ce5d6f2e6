# mod_status integration and the Prometheus endpoint's shape: the mod_acmpca section of
# server-status, its lines in ?auto, /metrics in text format 0.0.4, and the endpoint off
# unless ACMPCAMetrics is on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use LWP::UserAgent ();

plan tests => 16, need_module('acmpca'), need_module('status');

my $V = 'acmpca_visible';
my $ua = LWP::UserAgent->new(timeout => 60, keep_alive => 0);

sub auto {
    my $res = $ua->get(endpoint($V) . '/server-status?auto');
    my %v = ($res->content // '') =~ /^(ACMPCA\w+): (\S+)$/mg;
    return ($res, \%v);
}

my($res, $before) = auto();
is($res->code, 200, 'server-status?auto answers on the API vhost');
ok(exists $before->{ACMPCARequests} && exists $before->{ACMPCACertificatesIssued}
   && exists $before->{ACMPCAStoreErrors} && exists $before->{ACMPCAThrottled}
   && exists $before->{ACMPCACertificatesRevoked} && exists $before->{ACMPCAErrors},
   '?auto has the ACMPCA lines') or diag($res->content);

# One request of the API, one failing: the counts move by exactly that.
my(undef, undef, $ok) = api(ListCertificateAuthorities => {}, -module => $V);
is_api_ok($ok, 'ListCertificateAuthorities');
my(undef, undef, $bad) = api(DescribeCertificateAuthority => { CertificateAuthorityArn =>
    'arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/00000000-0000-4000-8000-000000000000' },
    -module => $V);
is_aws_error($bad, 400, 'ResourceNotFoundException', undef, 'DescribeCertificateAuthority of no CA');
my(undef, $after) = auto();
is($after->{ACMPCARequests} - $before->{ACMPCARequests}, 2, 'ACMPCARequests grew by 2');
is($after->{ACMPCAErrors} - $before->{ACMPCAErrors}, 1, 'ACMPCAErrors grew by 1');
is(($after->{ACMPCARequestsListCertificateAuthorities} // 0)
   - ($before->{ACMPCARequestsListCertificateAuthorities} // 0), 1,
   'ACMPCARequestsListCertificateAuthorities grew by 1');
like($after->{ACMPCAMeanLatencyMs} // '', qr/^\d+\.\d{3}$/, 'ACMPCAMeanLatencyMs is a number');

# The HTML page has a section of its own.
$res = $ua->get(endpoint($V) . '/server-status');
like($res->content // '', qr{<h2 id="acmpca">mod_acmpca</h2>}, 'server-status has a mod_acmpca section');
like($res->content // '', qr{<tr><td>ListCertificateAuthorities</td><td>\d+</td>},
     '... with a row per operation');

# Prometheus text format.
$res = $ua->get(endpoint($V) . '/metrics');
is($res->code, 200, 'GET /metrics: 200 with ACMPCAMetrics on');
like($res->header('Content-Type') // '', qr{^text/plain; version=0\.0\.4}, '... text format 0.0.4');
my @bad = grep { !/^# (?:HELP|TYPE) \w+ .+$/ && !/^[a-z_]+(?:\{(?:[a-z_]+="[^"\\]*",?)+\})? -?[0-9.e+]+$/ }
          split /\n/, $res->content // '';
is_deeply(\@bad, [], 'every line is a comment or a sample') or diag(join "\n", @bad[0 .. ($#bad > 5 ? 5 : $#bad)]);
my %types = ($res->content // '') =~ /^# TYPE (\w+) (\w+)$/mg;
is_deeply({ map { $_ => $types{$_} } qw(acmpca_requests_total acmpca_request_duration_seconds
            acmpca_certificates_issued_total acmpca_certificates_revoked_total acmpca_store_errors_total
            acmpca_throttled_requests_total acmpca_crl_age_seconds) },
          { acmpca_requests_total => 'counter', acmpca_request_duration_seconds => 'histogram',
            acmpca_certificates_issued_total => 'counter', acmpca_certificates_revoked_total => 'counter',
            acmpca_store_errors_total => 'counter', acmpca_throttled_requests_total => 'counter',
            acmpca_crl_age_seconds => 'gauge' },
          'the metric families and their types');

# Off unless configured: SetHandler acmpca-metrics on a server without ACMPCAMetrics.
$res = $ua->get(endpoint('default') . '/acmpca-metrics-off');
is($res->code, 404, 'acmpca-metrics without ACMPCAMetrics on: 404');
unlike($res->content // '', qr/acmpca_requests_total/, '... and no metrics');
