# ACMPCAMaxCertificatesPerCA (the AWS quota on certificates a CA issues): the
# acmpca_certquota vhost allows 3. A root's own certificate counts, revoked ones
# count, the refused request stores nothing, and an idempotent retry of an issued
# certificate is still answered once the quota is reached.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 10, need_module('acmpca');

my %M = (-module => 'acmpca_certquota');
sub q_api { my($op, $body) = @_; api($op, $body, %M) }
sub issue_req {
    my($ca, $csr, %o) = @_;
    return { CertificateAuthorityArn => $ca, Csr => b64($csr), SigningAlgorithm => 'SHA256WITHECDSA',
             TemplateArn => $o{template} // 'arn:aws:acm-pca:::template/EndEntityCertificate/V1',
             Validity => $o{validity} // { Type => 'DAYS', Value => 30 }, %{ $o{extra} || {} } };
}

# A root CA of the quota store: its own certificate is the first of three.
my($st, $j) = q_api(CreateCertificateAuthority => {
    CertificateAuthorityType => 'ROOT', CertificateAuthorityConfiguration => ca_config(cn => uniq('Quota Root')) });
my $ca = $j && $j->{CertificateAuthorityArn} || '';
($st, $j) = q_api(GetCertificateAuthorityCsr => { CertificateAuthorityArn => $ca });
my $ca_csr = $j && $j->{Csr} || '';
($st, $j) = q_api(IssueCertificate => issue_req($ca, $ca_csr, template => ROOT_TEMPLATE,
                                                validity => { Type => 'YEARS', Value => 1 }));
my $root_cert_arn = $j && $j->{CertificateArn} || '';
($st, $j) = q_api(GetCertificate => { CertificateAuthorityArn => $ca, CertificateArn => $root_cert_arn });
($st) = q_api(ImportCertificateAuthorityCertificate => {
    CertificateAuthorityArn => $ca, Certificate => b64($j && $j->{Certificate} || '') });
is($st, 200, 'a root CA of the quota store is ACTIVE (its own certificate is number 1)');

my $leaf = openssl_key_csr(subj => '/CN=quota leaf');
($st, $j) = q_api(IssueCertificate => issue_req($ca, $leaf->{csr}, extra => { IdempotencyToken => 'quota-2' }));
my $second = $j && $j->{CertificateArn} || '';
is($st, 200, 'certificate 2 is issued');
($st, $j) = q_api(IssueCertificate => issue_req($ca, $leaf->{csr}));
my $third = $j && $j->{CertificateArn} || '';
is($st, 200, 'certificate 3 is issued');
my($serial) = $third =~ m{/certificate/([0-9a-f]+)$};
($st) = q_api(RevokeCertificate => { CertificateAuthorityArn => $ca, CertificateSerial => $serial // '',
                                     RevocationReason => 'SUPERSEDED' });
is($st, 200, 'certificate 3 is revoked (it still counts)');

my(undef, undef, $res) = q_api(IssueCertificate => issue_req($ca, $leaf->{csr}));
is_aws_error($res, 400, 'LimitExceededException', qr/limit of 3 certificates/,
    'certificate 4 -> LimitExceededException naming the limit');
($st, $j) = q_api(IssueCertificate => issue_req($ca, $leaf->{csr}, extra => { IdempotencyToken => 'quota-2' }));
is($j && $j->{CertificateArn}, $second, 'a retry of certificate 2 with its IdempotencyToken still answers its ARN');

# The refused request left nothing behind: the audit report lists three certificates.
($st, $j) = q_api(CreateCertificateAuthorityAuditReport => {
    CertificateAuthorityArn => $ca, S3BucketName => 'quota-audit', AuditReportResponseFormat => 'JSON' });
my $report = $j && $j->{AuditReportId} || '';
ok($report, 'an audit report of the quota CA is created');
for (1 .. 50) {
    ($st, $j) = q_api(DescribeCertificateAuthorityAuditReport => { CertificateAuthorityArn => $ca, AuditReportId => $report });
    last if ($j->{AuditReportStatus} // '') ne 'CREATING';
    select undef, undef, undef, 0.1;
}
is($j && $j->{AuditReportStatus}, 'SUCCESS', 'the audit report is ready');
my $obj = raw_request(GET => "/quota-audit/" . ($j && $j->{S3Key} // ''), '', 'Content-Type' => undef, %M);
my $records = json_decode($obj->content);
is(ref $records eq 'ARRAY' ? scalar @$records : -1, 3, '... and lists exactly the three certificates');

# The main vhost has the default quota (1,000,000): the same request succeeds there.
my $R = make_root_active(cn => uniq('Main Root'));
($st) = api(IssueCertificate => issue_req($R ? $R->{arn} : '', $leaf->{csr}));
is($st, 200, 'the main vhost, with the default quota, issues for another CA');
