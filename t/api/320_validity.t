# Validity of issued CA certificates (PCA-API.md §5.5, §5.5.1, §11.3): END_DATE
# (14 and 12 digits), ABSOLUTE, DAYS, MONTHS, YEARS, the default NotBefore,
# ValidityNotBefore, bad values, SHORT_LIVED_CERTIFICATE CAs, UTCTime before 2050
# and GeneralizedTime from 2050.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use POSIX qw(strftime);
use Time::Local qw(timegm);

plan tests => 22, need_module('acmpca');

sub days_in_month { my($y, $m) = @_; return (31, ($y % 4 == 0 && ($y % 100 || $y % 400 == 0)) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[$m] }
sub add_months {
    my($t, $n) = @_;
    my @g = gmtime $t;
    my($y, $m) = ($g[5] + 1900, $g[4] + $n);
    $y += int($m / 12);
    $m %= 12;
    my $d = $g[3] > days_in_month($y, $m) ? days_in_month($y, $m) : $g[3];
    timegm($g[0], $g[1], $g[2], $d, $m, $y);
}

my $R = make_root_active(cn => uniq('Validity Root'));
ok($R, 'an ACTIVE root (10 years)');
my $k = openssl_key_csr(subj => '/CN=validity subject');
my $csr = $k ? $k->{csr} : '';

# issue(%validity fields) -> (response, certificate PEM)
sub issue {
    my(%o) = @_;
    my(undef, $j, $res) = api(IssueCertificate => { CertificateAuthorityArn => $o{ca} // ($R ? $R->{arn} : ''), Csr => b64($csr),
        SigningAlgorithm => $o{signing} // 'SHA256WITHECDSA', TemplateArn => sub_template(0), Validity => $o{validity},
        ($o{not_before} ? (ValidityNotBefore => $o{not_before}) : ()) });
    my $cert = ($res->code == 200 && $j && $j->{CertificateArn})
        ? (get_cert($o{ca} // $R->{arn}, $j->{CertificateArn}) || {})->{Certificate} : undef;
    ($res, $cert);
}
sub dates { my $c = shift; $c ? cert_dates($c) : () }

my $t = time;
my $end = $t + 200 * 86400;
my(undef, $c) = issue(validity => { Type => 'END_DATE', Value => 0 + strftime('%Y%m%d%H%M%S', gmtime $end) });
is((dates($c))[1], $end, 'END_DATE YYYYMMDDHHMMSS: NotAfter is exactly that instant');
$end = $t + 100 * 86400;
(undef, $c) = issue(validity => { Type => 'END_DATE', Value => 0 + strftime('%y%m%d%H%M%S', gmtime $end) });
is((dates($c))[1], $end, 'END_DATE YYMMDDHHMMSS (UTCTime form): NotAfter is exactly that instant');
$end = $t + 50 * 86400 + 17;
(undef, $c) = issue(validity => { Type => 'ABSOLUTE', Value => $end });
is((dates($c))[1], $end, 'ABSOLUTE: NotAfter is exactly that epoch second');

$t = time;
(undef, $c) = issue(validity => { Type => 'DAYS', Value => 30 });
my($nb, $na) = dates($c);
ok(defined $na && abs($na - ($t + 30 * 86400)) <= 120, 'DAYS 30: NotAfter = issuance + 30 days');
ok(defined $nb && abs($nb - ($t - 3600)) <= 120, 'without ValidityNotBefore, NotBefore = issuance - 60 minutes');
(undef, $c) = issue(validity => { Type => 'MONTHS', Value => 2 });
$na = (dates($c))[1];
ok(defined $na && abs($na - add_months($t, 2)) <= 120, 'MONTHS 2: NotAfter = issuance + 2 calendar months');
(undef, $c) = issue(validity => { Type => 'YEARS', Value => 1 });
$na = (dates($c))[1];
ok(defined $na && abs($na - add_months($t, 12)) <= 120, 'YEARS 1: NotAfter = issuance + 1 calendar year');

# ValidityNotBefore
$t = time;
my $want_nb = $t + 3600 + 5;
(undef, $c) = issue(validity => { Type => 'DAYS', Value => 30 }, not_before => { Type => 'ABSOLUTE', Value => $want_nb });
($nb, $na) = dates($c);
is($nb, $want_nb, 'ValidityNotBefore ABSOLUTE: NotBefore is exactly that');
ok(defined $na && abs($na - ($t + 30 * 86400)) <= 120, '... and DAYS still counts from issuance, not from NotBefore');
$want_nb = $t + 7200;
(undef, $c) = issue(validity => { Type => 'DAYS', Value => 30 },
                    not_before => { Type => 'END_DATE', Value => 0 + strftime('%Y%m%d%H%M%S', gmtime $want_nb) });
is((dates($c))[0], $want_nb, 'ValidityNotBefore END_DATE is tolerated');
my($res) = issue(validity => { Type => 'DAYS', Value => 30 }, not_before => { Type => 'DAYS', Value => 2 });
is_aws_error($res, 400, 'InvalidArgsException', undef, 'ValidityNotBefore of Type DAYS -> InvalidArgsException');
($res) = issue(validity => { Type => 'DAYS', Value => 30 }, not_before => { Type => 'ABSOLUTE', Value => $t + 40 * 86400 });
is_aws_error($res, 400, 'ValidationException', undef, 'NotBefore after NotAfter -> ValidationException');

# Bad values
for my $bad (['2035', 'END_DATE of 4 digits'], ['20351340000000', 'END_DATE with month 13'],
             ['20200101000000', 'END_DATE in the past'], ['20350230120000', 'END_DATE of February 30']) {
    ($res) = issue(validity => { Type => 'END_DATE', Value => 0 + $bad->[0] });
    is_aws_error($res, 400, 'ValidationException', undef, "$bad->[1] -> ValidationException");
}
($res) = issue(validity => { Type => 'ABSOLUTE', Value => $t - 86400 });
is_aws_error($res, 400, 'ValidationException', undef, 'ABSOLUTE in the past -> ValidationException');

# SHORT_LIVED_CERTIFICATE: at most 7 days.
my $SL = make_root_active(cn => uniq('Short-lived Root'), validity => { Type => 'DAYS', Value => 7 },
                          extra => { UsageMode => 'SHORT_LIVED_CERTIFICATE' });
ok($SL, 'a SHORT_LIVED_CERTIFICATE root (7 days) is ACTIVE');
($res) = issue(ca => $SL ? $SL->{arn} : '', validity => { Type => 'DAYS', Value => 5 });
is($res->code, 200, 'it issues for 5 days');
($res) = issue(ca => $SL ? $SL->{arn} : '', validity => { Type => 'DAYS', Value => 8 });
is_aws_error($res, 400, 'ValidationException', undef, 'it refuses 8 days -> ValidationException');

# Time encodings (RFC 5280 §4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050.
my $L = make_root_active(cn => uniq('Long Root'), validity => { Type => 'END_DATE', Value => 20601231235959 });
my $asn1 = $L ? openssl({ stdin => $L->{cert} }, 'asn1parse')->{out} : '';
my @times = $asn1 =~ /prim: (UTCTIME|GENERALIZEDTIME)\s+:(\S+)/g;
is_deeply([@times[0 .. 3]], ['UTCTIME', $times[1] // 'x', 'GENERALIZEDTIME', '20601231235959Z'],
    'a root until 2060: notBefore as UTCTime, notAfter as GeneralizedTime 20601231235959Z')
    or diag("@times");
