# Revocation and audit reports with the real clients (Debian's awscli and boto3):
# aws acm-pca revoke-certificate with a colon serial; the audit-report-created
# waiter of awscli and boto3; aws s3 cp fetches the report signed (SigV4, service
# s3) and is refused unsigned; the CRL number keeps increasing across a restart of
# httpd.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke;
use File::Spec::Functions qw(catfile);

plan tests => 19, need_module('acmpca');
use_vhost();

my $R = crl_root(cn => uniq('Client Root'));
my $L1 = issue_leaf($R);
my $L2 = issue_leaf($R);
ok($R && $L1 && $L2, 'a root with a CRL, two leaves');

# awscli: the serial as openssl prints it (upper case, colons).
my $colons = uc join ':', unpack '(A2)*', $L1->{serial};
my $r = aws_cli('acm-pca', 'revoke-certificate', '--certificate-authority-arn', $R->{arn},
                '--certificate-serial', $colons, '--revocation-reason', 'KEY_COMPROMISE');
ok($r->{rc} == 0, 'aws acm-pca revoke-certificate') or diag $r->{err};
$r = aws_cli('acm-pca', 'revoke-certificate', '--certificate-authority-arn', $R->{arn},
             '--certificate-serial', $colons, '--revocation-reason', 'KEY_COMPROMISE');
ok($r->{rc} != 0 && $r->{err} =~ /RequestAlreadyProcessedException/, '... again: RequestAlreadyProcessedException')
    or diag $r->{err};
my $e = crl_entries(crl_text(crl_der_from_url(cdp_url($L1->{cert}))));
ok(($e->{ $L1->{serial} }{reason} // '') eq 'Key Compromise', '... and the CRL has it');

# Audit report with awscli and its waiter.
my $bucket = "client-reports-$$";
$r = aws_cli('acm-pca', 'create-certificate-authority-audit-report', '--certificate-authority-arn', $R->{arn},
             '--s3-bucket-name', $bucket, '--audit-report-response-format', 'JSON');
my $id = ($r->{json} || {})->{AuditReportId};
my $key = ($r->{json} || {})->{S3Key};
ok($r->{rc} == 0 && $id && $key, 'aws acm-pca create-certificate-authority-audit-report') or diag $r->{err};
$r = aws_cli('acm-pca', 'wait', 'audit-report-created', '--certificate-authority-arn', $R->{arn},
             '--audit-report-id', $id // 'x');
ok($r->{rc} == 0, 'aws acm-pca wait audit-report-created') or diag $r->{err};

# boto3's waiter (botocore waiters-2.json: audit_report_created).
my $b = boto3_script(sprintf <<'PY', $R->{arn}, $bucket);
arn, bucket = "%s", "%s"
rep = pca.create_certificate_authority_audit_report(CertificateAuthorityArn=arn, S3BucketName=bucket,
                                                    AuditReportResponseFormat="CSV")
pca.get_waiter("audit_report_created").wait(CertificateAuthorityArn=arn, AuditReportId=rep["AuditReportId"],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 5})
d = pca.describe_certificate_authority_audit_report(CertificateAuthorityArn=arn, AuditReportId=rep["AuditReportId"])
out({"key": rep["S3Key"], "status": d["AuditReportStatus"], "created": str(d["CreatedAt"])})
PY
ok($b->{rc} == 0 && ($b->{json} || {})->{status} eq 'SUCCESS', 'boto3: the audit_report_created waiter completes')
    or diag $b->{err};
my $csv_key = ($b->{json} || {})->{key} // 'none';

# aws s3 cp, signed as S3 signs (path-style addressing on our endpoint).
my $home = catfile(tmpdir(), 'home');
mkdir $home;
open my $fh, '>', catfile($home, 'aws-config') or die $!;
print $fh "[default]\ns3 =\n    addressing_style = path\n    signature_version = s3v4\n";
close $fh;
my $dest = catfile(tmpdir(), "report-$$.json");
$r = aws_cli('s3', 'cp', "s3://$bucket/$key", $dest);
my $signed = raw_request(GET => "/$bucket/$key", '', 'Content-Type' => undef);
ok($r->{rc} == 0 && -s $dest && read_file($dest) eq $signed->content, 'aws s3 cp fetches the JSON report, signed')
    or diag "$r->{out} $r->{err}";
my $recs = json_decode(-s $dest ? read_file($dest) : '');
ok(ref $recs eq 'ARRAY' && 3 == grep({ $_->{certificateArn} } @$recs), '... listing the root certificate and the two leaves')
    or diag explain $recs;
my $dest2 = catfile(tmpdir(), "report-$$.csv");
$r = aws_cli('s3', 'cp', "s3://$bucket/$csv_key", $dest2);
ok($r->{rc} == 0 && read_file($dest2) =~ /^awsAccountId,/, '... and the CSV one') or diag "$r->{out} $r->{err}";
my $dest3 = catfile(tmpdir(), "unsigned-$$.json");
$r = aws_cli('s3', 'cp', '--no-sign-request', "s3://$bucket/$key", $dest3);
ok($r->{rc} != 0 && !-e $dest3 && $r->{err} =~ /403|Forbidden|AccessDenied/i, 'aws s3 cp --no-sign-request: refused (403)')
    or diag "$r->{out} $r->{err}";
my $dest4 = catfile(tmpdir(), "crl-$$.crl");
$r = aws_cli('s3', 'cp', '--no-sign-request', "s3://$R->{bucket}/crl/$R->{id}.crl", $dest4);
ok($r->{rc} == 0 && crl_verify(read_file($dest4), $R->{cert}), 'aws s3 cp --no-sign-request of the CRL: public')
    or diag "$r->{out} $r->{err}";
$r = aws_cli('s3', 'presign', "s3://$bucket/$key", '--expires-in', '300');
(my $presigned = $r->{out}) =~ s/\s+$//;
my $pres = $r->{rc} == 0 ? http_get($presigned) : undef;
ok($pres && $pres->code == 200 && $pres->content eq $signed->content, 'a URL from aws s3 presign (SigV4 query) fetches it unsigned')
    or diag "$r->{out} $r->{err} " . ($pres ? $pres->status_line . ' ' . $pres->content : '');
(my $tampered = $presigned) =~ s/(X-Amz-Signature=)([0-9a-f])/$1 . ($2 eq '0' ? '1' : '0')/e;
ok(http_get($tampered)->code == 403, '... and not once tampered with');
my @logged = grep { /X-Amz-Signature=/ } split /\n/, read_file(catfile(Apache::Test::vars('t_logs'), 'access_log'));
ok(@logged && !grep({ /X-Amz-Signature=(?!REDACTED)/ } @logged), '... and the access log shows X-Amz-Signature=REDACTED')
    or diag join "\n", @logged[0 .. ($#logged < 2 ? $#logged : 2)];
$r = aws_cli('s3', 'ls', "s3://$bucket/");
ok($r->{rc} != 0, 'aws s3 ls: there is no listing') or diag $r->{out};

# The CRL number only increases, across a restart of httpd too.
my $n1 = crl_number(crl_der_from_url(cdp_url($L2->{cert})));
ok(restart_server(), 'httpd stopped and started');
my $n2 = crl_number(crl_der_from_url(cdp_url($L2->{cert})));
ok(defined $n1 && defined $n2 && $n2 >= $n1, "after the restart the CRL is still number $n1 (or a newer one: $n2)");
revoke($R->{arn}, $L2->{serial}, 'SUPERSEDED');
my $n3 = crl_number(crl_der_from_url(cdp_url($L2->{cert})));
ok(defined $n3 && $n3 > ($n2 // 0), "a revocation after the restart: CRL number $n3 > $n2");
