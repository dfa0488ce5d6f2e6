# Identity policies of the credentials file (issue 5, Build 2): a policy limited
# to reads blocks IssueCertificate with AccessDeniedException; Deny beats Allow;
# a key without a policy may do everything in its own account.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Auth;

plan tests => 10, need_module('acmpca');

my $ca = active_root_as('A');
ok($ca, 'A (no identity policy) makes an ACTIVE root CA');
my %issue = (CertificateAuthorityArn => $ca, Csr => b64(ee_csr('idp.example.com')),
             SigningAlgorithm => 'SHA256WITHECDSA', Validity => { Type => 'DAYS', Value => 7 });

# ---- READER: Describe*, Get*, List* only
call_as_ok(READER => DescribeCertificateAuthority => { CertificateAuthorityArn => $ca }, 'the reader describes the CA of its account');
call_as_ok(READER => ListCertificateAuthorities => {}, 'the reader lists');
{
    my(undef, undef, $res) = call_as(READER => IssueCertificate => \%issue);
    is_aws_error($res, 400, 'AccessDeniedException',
                 qr/^User: arn:aws:iam::111111111111:user\/reader is not authorized to perform: acm-pca:IssueCertificate on resource: \Q$ca\E because no identity-based policy allows the acm-pca:IssueCertificate action$/,
                 'the reader may not issue: AccessDeniedException with AWS\'s message');
    (undef, undef, $res) = call_as(READER => CreateCertificateAuthority => {
        CertificateAuthorityType => 'ROOT', CertificateAuthorityConfiguration => ca_config() });
    is_aws_error($res, 400, 'AccessDeniedException', qr/acm-pca:CreateCertificateAuthority on resource: \*/,
                 'the reader may not create a CA');
    # The denial comes before the request is looked at (no ValidationException).
    (undef, undef, $res) = call_as(READER => IssueCertificate => { CertificateAuthorityArn => $ca });
    is_aws_error($res, 400, 'AccessDeniedException', undef, 'authorisation comes before validation');
}

# ---- NOISSUE: Allow acm-pca:*, Deny acm-pca:Issue*
{
    my(undef, undef, $res) = call_as(NOISSUE => IssueCertificate => \%issue);
    is_aws_error($res, 400, 'AccessDeniedException', qr/with an explicit deny in an identity-based policy$/,
                 'Deny beats Allow in an identity policy');
    call_as_ok(NOISSUE => ListTags => { CertificateAuthorityArn => $ca }, '... other actions stay allowed');
}

# ---- no policy: everything in the own account
{
    my(undef, $j) = call_as(A => IssueCertificate => \%issue);
    like($j && $j->{CertificateArn}, qr/^\Q$ca\E\/certificate\//, 'A, without a policy, issues');
    my(undef, undef, $res) = call_as(NOISSUE => GetCertificate => { CertificateAuthorityArn => $ca,
                                                                 CertificateArn => $j->{CertificateArn} // '' });
    is_api_ok($res, 'the Deny of Issue* leaves GetCertificate alone');
}
